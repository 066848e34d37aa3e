//! The text of a CSV file as a Swedish office saves it, below every other
//! layer beside [`crate::csv_cell`]: which encoding its bytes are in (UTF-8,
//! with or without a BOM, or Windows-1252 as Excel's "CSV
//! (semikolonavgränsad)" writes on Swedish Windows), a reader that turns
//! them into UTF-8 as they stream by, and which separator (`;` or `,`) its
//! header line uses. Everything works over `Read`, one buffer at a time, so
//! a large file is never held whole.

use encoding_rs::{Decoder, WINDOWS_1252};
use std::io::{self, Read};

/// How a file's bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// Windows-1252 (a superset of Latin-1): what Excel saves as plain "CSV" on Swedish Windows.
    Windows1252,
}

/// Read `r` to its end and say which encoding it is in: UTF-8 when every
/// byte sequence is valid UTF-8, otherwise Windows-1252 (which every byte
/// sequence is). Stops at the first byte that is not UTF-8.
pub fn detect_encoding<R: Read>(mut r: R) -> io::Result<TextEncoding> {
    let mut buf = [0u8; 8192];
    // Bytes of a character cut at the end of the previous read (at most 3).
    let mut carry = 0;
    loop {
        let n = match r.read(buf.get_mut(carry..).unwrap_or_default()) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            // A character cut by the end of the file is no UTF-8 either.
            return Ok(if carry == 0 { TextEncoding::Utf8 } else { TextEncoding::Windows1252 });
        }
        let end = carry + n;
        let chunk = buf.get(..end).unwrap_or_default();
        match std::str::from_utf8(chunk) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..end, 0);
                carry = end - valid;
            }
            Err(_) => return Ok(TextEncoding::Windows1252),
        }
    }
}

/// A reader yielding the UTF-8 text of a reader of bytes in a
/// [`TextEncoding`], with each CRLF turned into LF. UTF-8 is otherwise
/// passed through (its BOM too: the caller skips it). Why the CRLF: after a
/// record ending in CRLF the `csv` crate starts the next record's position
/// before the LF, so every line number in an Excel file came out one too
/// low; a cell's own CRLF (Excel writes LF there) is read as LF.
pub struct Decode<R> {
    inner: R,
    /// `None` for UTF-8.
    decoder: Option<Decoder>,
    raw: Box<[u8]>,
    decoded: Box<[u8]>,
    /// The part of `decoded` not yet read.
    pos: usize,
    end: usize,
    /// A CR that ended the last chunk, held back until the next shows whether an LF follows.
    pending_cr: bool,
    done: bool,
}

const RAW_CHUNK: usize = 8192;

impl<R: Read> Decode<R> {
    pub fn new(inner: R, encoding: TextEncoding) -> Decode<R> {
        let decoder = match encoding {
            TextEncoding::Utf8 => None,
            TextEncoding::Windows1252 => Some(WINDOWS_1252.new_decoder_without_bom_handling()),
        };
        // Room for the UTF-8 of a whole raw chunk (so each is decoded in one call) and a held-back CR.
        let room = decoder.as_ref().and_then(|d| d.max_utf8_buffer_length(RAW_CHUNK)).unwrap_or(RAW_CHUNK) + 1;
        let (raw, decoded) = (vec![0; RAW_CHUNK].into(), vec![0; room].into());
        Decode { inner, decoder, raw, decoded, pos: 0, end: 0, pending_cr: false, done: false }
    }

    /// Read and decode the next chunk of `inner` into `decoded`.
    fn refill(&mut self) -> io::Result<()> {
        let n = self.inner.read(&mut self.raw)?;
        let last = n == 0;
        let input = self.raw.get(..n).unwrap_or_default();
        let mut len = 0;
        if std::mem::take(&mut self.pending_cr)
            && let Some(b) = self.decoded.first_mut()
        {
            *b = b'\r';
            len = 1;
        }
        let room = self.decoded.get_mut(len..).unwrap_or_default();
        len += match self.decoder.as_mut() {
            Some(d) => d.decode_to_utf8(input, room, last).2,
            None => {
                if let Some(dst) = room.get_mut(..n) {
                    dst.copy_from_slice(input);
                }
                n
            }
        };
        let mut kept = 0;
        for i in 0..len {
            let b = self.decoded.get(i).copied().unwrap_or_default();
            if b == b'\r' && self.decoded.get(i + 1) == Some(&b'\n') && i + 1 < len {
                continue;
            }
            if let Some(slot) = self.decoded.get_mut(kept) {
                *slot = b;
            }
            kept += 1;
        }
        if !last && kept > 0 && self.decoded.get(kept - 1) == Some(&b'\r') {
            kept -= 1;
            self.pending_cr = true;
        }
        (self.pos, self.end, self.done) = (0, kept, last);
        Ok(())
    }
}

impl<R: Read> Read for Decode<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.end {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let ready = self.decoded.get(self.pos..self.end).unwrap_or_default();
        let n = ready.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), ready.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// The separator of a CSV file from the start of its text (its header
/// line): `;` when the first line has more semicolons than commas (Excel
/// with a Swedish list separator), otherwise `,`.
pub fn separator(start: &[u8]) -> u8 {
    let first = start.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first.iter().filter(|b| **b == c).count();
    if count(b';') > count(b',') { b';' } else { b',' }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], chunk: usize) -> String {
        let enc = detect_encoding(bytes).unwrap();
        let mut d = Decode::new(bytes, enc);
        let mut out = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            let n = d.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn windows_1252_is_detected_and_decoded_in_any_read_size() {
        let cp1252 = b"id;name\r\n1;R\xe4ksm\xf6rg\xe5s \x96 \xc5\xc4\xd6\r\n";
        assert_eq!(detect_encoding(&cp1252[..]).unwrap(), TextEncoding::Windows1252);
        for chunk in [1, 2, 3, 7, 4096] {
            assert_eq!(decode_all(cp1252, chunk), "id;name\n1;Räksmörgås – ÅÄÖ\n", "chunk {chunk}");
        }
    }

    #[test]
    fn utf8_with_or_without_bom_passes_through() {
        for (text, want) in [
            ("id,name\n1,Räksmörgås\n", "id,name\n1,Räksmörgås\n"),
            ("\u{feff}id;name\r\n1;Ö\r\n", "\u{feff}id;name\n1;Ö\n"),
            ("a\rb\r", "a\rb\r"),
            ("", ""),
        ] {
            assert_eq!(detect_encoding(text.as_bytes()).unwrap(), TextEncoding::Utf8);
            assert_eq!(decode_all(text.as_bytes(), 3), want);
        }
    }

    #[test]
    fn a_utf8_character_cut_by_a_read_is_still_utf8() {
        // 'ö' (2 bytes) straddles the 8192-byte boundary of detect_encoding's buffer.
        let mut text = "a".repeat(8191);
        text.push_str("ö and more ä");
        assert_eq!(detect_encoding(text.as_bytes()).unwrap(), TextEncoding::Utf8);
        // A cp1252 byte after 8 KB of ASCII is still found.
        let mut bytes = "a".repeat(9000).into_bytes();
        bytes.push(0xe4);
        assert_eq!(detect_encoding(&bytes[..]).unwrap(), TextEncoding::Windows1252);
    }

    #[test]
    fn a_crlf_cut_between_two_chunks_is_still_one_line_end() {
        let mut text = "a".repeat(RAW_CHUNK - 1);
        text.push_str("\r\nb\r\n");
        let out = decode_all(text.as_bytes(), 4096);
        assert_eq!(out.len(), text.len() - 2);
        assert!(out.ends_with("a\nb\n") && !out.contains('\r'));
    }

    #[test]
    fn the_separator_comes_from_the_header_line() {
        assert_eq!(separator(b"id;name;org_type\r\n1,2,3;4\r\n"), b';');
        assert_eq!(separator(b"id,name,org_type\n\"a;b;c;d\",x,y\n"), b',');
        assert_eq!(separator(b"id"), b',');
    }
}
