//! Writes the app icons (icons/*.png, 8-bit RGBA as Tauri needs) from the tray icon drawing, so the app,
//! its desktop entry and the tray look alike: `cargo run --example app_icons` from the repository root.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use docktray::alerts::OverallLevel;
use docktray::sinks::tray::icon_rgba;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("icons");
    std::fs::create_dir_all(&dir)?;
    for (name, size) in [
        ("32x32.png", 32),
        ("128x128.png", 128),
        ("128x128@2x.png", 256),
        ("icon.png", 512),
    ] {
        let path = dir.join(name);
        let mut encoder = png::Encoder::new(BufWriter::new(File::create(&path)?), size, size);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&icon_rgba(OverallLevel::Ok, 0, size))?;
        writer.finish()?;
        println!("{}", path.display());
    }
    Ok(())
}
