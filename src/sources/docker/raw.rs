//! A minimal HTTP/1.1 exchange with a Docker engine on a connection of its own, for what bollard's typed client
//! cannot do: `/system/df`, whose reply changed shape in API 1.52 (bollard only reads the new one), and an
//! exec's attached stream kept as raw bytes (bollard's decoder takes a TTY chunk that starts with a byte 0-2
//! for a multiplexing header, which would stall a terminal showing binary output).

use std::pin::Pin;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::Client;
use crate::error::{Error, Result};

/// A byte stream to the engine: a unix socket (local, or forwarded from an SSH host) or TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The engine's connection after the response head, with what was read past it still buffered.
pub(crate) type Connection = BufReader<Pin<Box<dyn Io>>>;

/// A response's status, and its body (empty for an upgraded connection).
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The engine's own error text (`{"message": "..."}`), or the body as text.
    pub fn message(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_owned())
    }
}

async fn connect(endpoint: &str) -> Result<Pin<Box<dyn Io>>> {
    let unreachable = |reason: String| Error::DockerUnreachable {
        endpoint: endpoint.to_owned(),
        reason,
    };
    if let Some(path) = endpoint
        .strip_prefix("unix://")
        .or_else(|| endpoint.starts_with('/').then_some(endpoint))
    {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|err| unreachable(err.to_string()))?;
        return Ok(Box::pin(stream));
    }
    let address = endpoint
        .strip_prefix("tcp://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or_else(|| unreachable("unsupported endpoint".to_owned()))?;
    let address = address.trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|err| unreachable(err.to_string()))?;
    Ok(Box::pin(stream))
}

/// Sends one request (`path` without the version prefix) and reads the response head. `upgrade` asks the
/// engine to hand the connection over to the attached stream.
async fn exchange(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    upgrade: bool,
) -> Result<(u16, Vec<(String, String)>, Connection)> {
    let mut stream = connect(&client.endpoint).await?;
    let payload = body.map(serde_json::Value::to_string).unwrap_or_default();
    let connection = if upgrade {
        "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    } else {
        "Connection: close\r\n"
    };
    let head = format!(
        "{method} /v{version}{path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: docktray\r\n{connection}\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        version = client.api_version,
        length = payload.len()
    );
    let failed = |err: std::io::Error| Error::Docker(format!("{method} {path}: {err}"));
    stream.write_all(head.as_bytes()).await.map_err(failed)?;
    stream.write_all(payload.as_bytes()).await.map_err(failed)?;
    stream.flush().await.map_err(failed)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.map_err(failed)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| Error::Docker(format!("{method} {path}: not an HTTP answer: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await.map_err(failed)? == 0 {
            break;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Ok((status, headers, reader))
}

/// One request on its own connection; the whole body is read.
pub(crate) async fn request(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<Response> {
    let (status, headers, mut reader) = exchange(client, method, path, body, false).await?;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let failed = |err: std::io::Error| Error::Docker(format!("{method} {path}: {err}"));
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).await.map_err(failed)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| Error::Docker(format!("{method} {path}: bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader
                .read_exact(&mut body[start..])
                .await
                .map_err(failed)?;
            line.clear();
            reader.read_line(&mut line).await.map_err(failed)?;
        }
    } else if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).await.map_err(failed)?;
    } else {
        reader.read_to_end(&mut body).await.map_err(failed)?;
    }
    Ok(Response { status, body })
}

/// Starts an exec and returns its attached stream (raw bytes both ways when it has a TTY), or the engine's
/// refusal.
pub(crate) async fn attach_exec(
    client: &Client,
    exec_id: &str,
    tty: bool,
) -> Result<std::result::Result<Connection, Response>> {
    let body = serde_json::json!({ "Detach": false, "Tty": tty });
    let path = format!("/exec/{exec_id}/start");
    let (status, headers, mut reader) = exchange(client, "POST", &path, Some(&body), true).await?;
    // 101 Switching Protocols; engines before the upgrade handshake answered 200 and streamed anyway.
    if status == 101 || status == 200 {
        return Ok(Ok(reader));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(64 * 1024)];
    let _ = reader.read_exact(&mut body).await;
    Ok(Err(Response { status, body }))
}
