//! The tables of `docktray images|volumes|networks|df`, laid out as the docker CLI lays them out (with a HOST
//! column when several hosts are shown). Names, tags and labels are untrusted: control characters are replaced.

use std::io::{self, Write};

use chrono::Utc;
use docktray::model::{
    human_size, DockerDiskUsage, ImageSummary, NetworkSummary, UsageLine, VolumeSummary,
};

use crate::render::clean;

/// Left-aligned columns two spaces apart, as the docker CLI prints them.
fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("   ")
            .trim_end()
            .to_owned()
    };
    writeln!(
        out,
        "{}",
        line(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>())
    )?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

/// Prepends the HOST column when several hosts are shown.
fn with_host(several: bool, host: &str, mut row: Vec<String>) -> Vec<String> {
    if several {
        row.insert(0, clean(host));
    }
    row
}

fn header<'a>(several: bool, columns: &[&'a str]) -> Vec<&'a str> {
    let mut header = Vec::new();
    if several {
        header.push("HOST");
    }
    header.extend_from_slice(columns);
    header
}

/// "3 days ago", as `docker image ls` says it.
fn ago(at: chrono::DateTime<Utc>) -> String {
    let seconds = (Utc::now() - at).num_seconds().max(0);
    let (value, unit) = match seconds {
        s if s < 60 => return "Less than a minute ago".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 14 => (s / 86_400, "day"),
        s if s < 86_400 * 60 => (s / (86_400 * 7), "week"),
        s if s < 86_400 * 365 * 2 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    if value == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{value} {unit}s ago")
    }
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "-".to_owned()
    } else {
        clean(&list.join(", "))
    }
}

/// One row per `repository:tag` (a dangling image as `<none> <none>`), like `docker image ls`.
pub fn images(out: &mut impl Write, images: &[ImageSummary], several: bool) -> io::Result<()> {
    let mut rows = Vec::new();
    for image in images {
        let references: Vec<(String, String)> = if image.tags.is_empty() {
            vec![("<none>".to_owned(), "<none>".to_owned())]
        } else {
            image
                .tags
                .iter()
                .map(|tag| match tag.rsplit_once(':') {
                    Some((repository, tag)) if !tag.contains('/') => {
                        (repository.to_owned(), tag.to_owned())
                    }
                    _ => (tag.clone(), "<none>".to_owned()),
                })
                .collect()
        };
        for (repository, tag) in references {
            rows.push(with_host(
                several,
                &image.host,
                vec![
                    clean(&repository),
                    clean(&tag),
                    short_id(&image.id),
                    ago(image.created),
                    human_size(image.size),
                    names(&image.containers),
                ],
            ));
        }
    }
    table(
        out,
        &header(
            several,
            &[
                "REPOSITORY",
                "TAG",
                "IMAGE ID",
                "CREATED",
                "SIZE",
                "CONTAINERS",
            ],
        ),
        &rows,
    )
}

pub fn volumes(out: &mut impl Write, volumes: &[VolumeSummary], several: bool) -> io::Result<()> {
    let rows: Vec<Vec<String>> = volumes
        .iter()
        .map(|volume| {
            with_host(
                several,
                &volume.host,
                vec![
                    clean(&volume.driver),
                    clean(&volume.name),
                    volume.size.map_or("-".to_owned(), human_size),
                    names(&volume.containers),
                ],
            )
        })
        .collect();
    table(
        out,
        &header(several, &["DRIVER", "VOLUME NAME", "SIZE", "CONTAINERS"]),
        &rows,
    )
}

pub fn networks(
    out: &mut impl Write,
    networks: &[NetworkSummary],
    several: bool,
) -> io::Result<()> {
    let rows: Vec<Vec<String>> = networks
        .iter()
        .map(|network| {
            let attached: Vec<String> = network
                .containers
                .iter()
                .map(|c| match &c.ipv4 {
                    Some(ip) => format!("{} {ip}", c.container),
                    None => c.container.clone(),
                })
                .collect();
            with_host(
                several,
                &network.host,
                vec![
                    short_id(&network.id),
                    clean(&network.name),
                    clean(&network.driver),
                    clean(&network.scope),
                    if network.subnets.is_empty() {
                        "-".to_owned()
                    } else {
                        network.subnets.join(", ")
                    },
                    names(&attached),
                ],
            )
        })
        .collect();
    table(
        out,
        &header(
            several,
            &[
                "NETWORK ID",
                "NAME",
                "DRIVER",
                "SCOPE",
                "SUBNET",
                "CONTAINERS",
            ],
        ),
        &rows,
    )
}

/// "1.2GB (40%)", as `docker system df` shows reclaimable space.
pub fn reclaimable(line: &UsageLine) -> String {
    match (line.reclaimable * 100).checked_div(line.size) {
        Some(percent) => format!("{} ({percent}%)", human_size(line.reclaimable)),
        None => human_size(line.reclaimable),
    }
}

/// Like `docker system df`: TYPE TOTAL ACTIVE SIZE RECLAIMABLE.
pub fn disk_usage(
    out: &mut impl Write,
    usage: &[DockerDiskUsage],
    several: bool,
) -> io::Result<()> {
    let mut rows = Vec::new();
    for host in usage {
        for (kind, line) in [
            ("Images", &host.images),
            ("Containers", &host.containers),
            ("Local Volumes", &host.volumes),
            ("Build Cache", &host.build_cache),
        ] {
            rows.push(with_host(
                several,
                &host.host,
                vec![
                    kind.to_owned(),
                    line.total.to_string(),
                    line.active.to_string(),
                    human_size(line.size),
                    // `docker system df` gives the build cache's reclaimable space without a percentage.
                    if kind == "Build Cache" {
                        human_size(line.reclaimable)
                    } else {
                        reclaimable(line)
                    },
                ],
            ));
        }
    }
    table(
        out,
        &header(several, &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]),
        &rows,
    )
}
