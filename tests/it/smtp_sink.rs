//! A minimal SMTP server for tests, on 127.0.0.1: records what it receives
//! and can be told to refuse recipients with a permanent 550. (The real
//! server, aiosmtpd, is used by the ignored tests that `.ci/run` runs.)
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
pub struct Sink {
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Recipients answered with "550 no such user".
    pub reject: Arc<Mutex<Vec<String>>>,
    /// How long the server thinks, half before it takes a message's data
    /// and half before it confirms it (a slow server, so that a test can
    /// stop the sender mid-send at every stage).
    pub delay: Arc<Mutex<std::time::Duration>>,
}

impl Sink {
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The Message-IDs received, in order of arrival.
    pub fn message_ids(&self) -> Vec<String> {
        self.messages().iter().filter_map(|m| header(&m.data, "Message-ID")).collect()
    }
}

/// A header's value in a received message (unfolded).
pub fn header(data: &str, name: &str) -> Option<String> {
    let head = data.split("\r\n\r\n").next().unwrap_or(data);
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut()
            && (line.starts_with(' ') || line.starts_with('\t'))
        {
            v.push_str(line);
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

/// Start a sink on a free port (or `port`); returns the port and the task.
pub async fn start(sink: Sink, port: u16) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let sink = sink.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r);
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let (mut from, mut to, mut line) = (String::new(), Vec::new(), String::new());
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_string();
                    let upper = cmd.to_ascii_uppercase();
                    let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-sink\r\n250 8BITMIME\r\n".into()
                    } else if upper.starts_with("MAIL FROM:") {
                        from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
                        to.clear();
                        "250 ok\r\n".into()
                    } else if upper.starts_with("RCPT TO:") {
                        let rcpt = cmd[8..].trim().trim_matches(['<', '>']).to_string();
                        if sink.reject.lock().unwrap().contains(&rcpt) {
                            "550 5.1.1 no such user\r\n".into()
                        } else {
                            to.push(rcpt);
                            "250 ok\r\n".into()
                        }
                    } else if upper == "DATA" {
                        let delay = *sink.delay.lock().unwrap() / 2;
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        let _ = w.write_all(b"354 go ahead\r\n").await;
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" || line == ".\n" {
                                break;
                            }
                            data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                        }
                        let delay = *sink.delay.lock().unwrap() / 2;
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        sink.received.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), data });
                        "250 2.0.0 queued as 1\r\n".into()
                    } else if upper == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        "250 ok\r\n".into()
                    } else {
                        "502 not implemented\r\n".into()
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, task)
}
