//! One HTTP/1.1 request read off a raw TCP stream, for the kit's loopback servers and proxies.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A request read whole: its head (request line and headers) and body.
pub(crate) struct RawRequest {
    head: String,
    /// The request's bytes, head and body, as they came.
    pub(crate) bytes: Vec<u8>,
    body_at: usize,
}

impl RawRequest {
    /// The value of header `name` (case-insensitive), if present.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body, as text.
    pub(crate) fn body(&self) -> String {
        String::from_utf8_lossy(&self.bytes[self.body_at..]).into_owned()
    }
}

/// Reads one request from `stream`, `buffer` holding what was read past the previous one (and
/// keeping what is read past this one); `None` when the stream ends first.
pub(crate) async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<RawRequest> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut request = RawRequest {
        head,
        bytes: Vec::new(),
        body_at: head_end,
    };
    let length: usize = (request.header("content-length"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    }
    request.bytes = buffer.drain(..head_end + length).collect();
    Some(request)
}
