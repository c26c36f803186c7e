//! The control socket: a Unix stream socket, root-only (directory 0700, socket
//! 0600, peer credentials checked). One JSON request per line, one JSON answer
//! per line. Anything that is not a valid request is refused and counted.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Largest request accepted, in bytes.
pub const MAX_REQUEST: u64 = 4096;

/// A request. `ipsecctl` takes these as its daemon subcommands (clap reads the
/// same enum), and sends them as one JSON line (`{"cmd": "list-sas"}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, clap::Subcommand)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Daemon summary and SAs.
    Status,
    /// The SAs with their counters.
    ListSas,
    /// Counters.
    Stats,
    /// Re-read the configuration file and apply the difference.
    Reload,
    /// Start an IKE SA for a connection (start_action = none).
    Initiate {
        /// Connection name.
        conn: String,
    },
    /// Close the IKE SAs of a connection, or one IKE SA by its id (from list-sas).
    Terminate {
        /// Connection name or IKE SA id.
        target: String,
    },
}

/// An answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Response {
    /// True on success.
    pub ok: bool,
    /// The error when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The result when `ok` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

impl Response {
    /// Success with a result.
    pub fn ok(v: serde_json::Value) -> Self {
        Response {
            ok: true,
            error: None,
            result: Some(v),
        }
    }
    /// Failure.
    pub fn err(e: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(e.into()),
            result: None,
        }
    }
}

/// Control socket errors.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Creating or binding the socket failed.
    #[error("control socket {path}: {source}")]
    Bind {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// Talking to the daemon failed.
    #[error("cannot reach ipsecd at {path}: {source}")]
    Connect {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The daemon's answer was not understood.
    #[error("bad answer from ipsecd: {0}")]
    BadAnswer(String),
}

/// Creates the listening socket (directory 0700, socket 0600; a stale socket
/// file is replaced).
pub fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    let e = |source| ControlError::Bind {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(e)?;
        }
    }
    if path.exists() {
        // A live daemon answers; a stale file does not.
        if UnixStream::connect(path).is_ok() {
            return Err(e(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another ipsecd is listening",
            )));
        }
        std::fs::remove_file(path).map_err(e)?;
    }
    let l = UnixListener::bind(path).map_err(e)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(e)?;
    Ok(l)
}

/// Why a request line was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefuseReason {
    /// The peer is not root (nor the daemon's own user).
    #[error("permission denied: control socket is root-only")]
    NotRoot,
    /// The request is not valid JSON of a known command.
    #[error("bad request: {0}")]
    Bad(String),
}

/// Reads one request from a connected client, checking its credentials.
pub fn read_request(stream: &UnixStream) -> Result<Request, RefuseReason> {
    let creds = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| RefuseReason::Bad(format!("no peer credentials: {e}")))?;
    let me = nix::unistd::geteuid().as_raw();
    if creds.uid() != 0 && creds.uid() != me {
        return Err(RefuseReason::NotRoot);
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_REQUEST))
        .read_until(b'\n', &mut line)
        .map_err(|e| RefuseReason::Bad(format!("read: {e}")))?;
    parse_request(&line)
}

/// Parses one request line.
pub fn parse_request(line: &[u8]) -> Result<Request, RefuseReason> {
    let text = std::str::from_utf8(line).map_err(|_| RefuseReason::Bad("not UTF-8".into()))?;
    serde_json::from_str(text.trim()).map_err(|e| RefuseReason::Bad(e.to_string()))
}

/// Writes one answer line.
pub fn write_response(mut stream: &UnixStream, r: &Response) -> io::Result<()> {
    let mut s = serde_json::to_vec(r).map_err(io::Error::other)?;
    s.push(b'\n');
    stream.write_all(&s)
}

/// Client side: sends `req` and returns the answer.
pub fn call(path: &Path, req: &Request) -> Result<Response, ControlError> {
    let e = |source| ControlError::Connect {
        path: path.display().to_string(),
        source,
    };
    let mut s = UnixStream::connect(path).map_err(e)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(e)?;
    let mut line = serde_json::to_vec(req).map_err(|x| ControlError::BadAnswer(x.to_string()))?;
    line.push(b'\n');
    s.write_all(&line).map_err(e)?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).map_err(e)?;
    serde_json::from_str(&answer).map_err(|x| ControlError::BadAnswer(format!("{x}: {answer:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(
            parse_request(b"{\"cmd\":\"status\"}\n"),
            Ok(Request::Status)
        );
        assert_eq!(
            parse_request(b"{\"cmd\":\"list-sas\"}"),
            Ok(Request::ListSas)
        );
        assert_eq!(parse_request(b"{\"cmd\":\"reload\"}"), Ok(Request::Reload));
        assert_eq!(
            parse_request(b"{\"cmd\":\"initiate\",\"conn\":\"to-b\"}"),
            Ok(Request::Initiate {
                conn: "to-b".into()
            })
        );
        assert_eq!(
            parse_request(b"{\"cmd\":\"terminate\",\"target\":\"3\"}"),
            Ok(Request::Terminate { target: "3".into() })
        );
        assert!(parse_request(b"{\"cmd\":\"initiate\"}").is_err());
    }

    #[test]
    fn garbage_refused() {
        for g in [
            &b"\xff\xfe"[..],
            b"hello",
            b"{\"cmd\":\"format-disk\"}",
            b"{}",
            b"",
        ] {
            assert!(
                matches!(parse_request(g), Err(RefuseReason::Bad(_))),
                "{g:?}"
            );
        }
    }
}
