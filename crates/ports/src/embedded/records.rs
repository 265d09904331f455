//! Byte layout of a log record in the embedded store:
//! `timestamp i64 | key len u32 | key | header count u32 | (name len u32, name, value len u32, value)* | value`,
//! integers little-endian.

use crate::PortError;

/// Encodes a record's stored bytes.
pub(crate) fn encode(
    timestamp_ms: i64,
    key: &[u8],
    headers: &[(String, Vec<u8>)],
    value: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + key.len() + value.len());
    out.extend_from_slice(&timestamp_ms.to_le_bytes());
    put_bytes(&mut out, key);
    out.extend_from_slice(&(headers.len() as u32).to_le_bytes());
    for (name, v) in headers {
        put_bytes(&mut out, name.as_bytes());
        put_bytes(&mut out, v);
    }
    out.extend_from_slice(value);
    out
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// A decoded record: timestamp, key, headers, value.
pub(crate) type Decoded = (i64, Vec<u8>, Vec<(String, Vec<u8>)>, Vec<u8>);

/// Decodes what [`encode`] wrote.
pub(crate) fn decode(mut b: &[u8]) -> Result<Decoded, PortError> {
    let corrupt = || PortError::Internal("a log record in the embedded store is corrupted".into());
    let ts = i64::from_le_bytes(
        take(&mut b, 8)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let key = take_bytes(&mut b).ok_or_else(corrupt)?.to_vec();
    let n = u32::from_le_bytes(
        take(&mut b, 4)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let mut headers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let name = take_bytes(&mut b).ok_or_else(corrupt)?;
        let value = take_bytes(&mut b).ok_or_else(corrupt)?;
        headers.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
    Ok((ts, key, headers, b.to_vec()))
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if b.len() < n {
        return None;
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Some(head)
}

fn take_bytes<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = u32::from_le_bytes(take(b, 4)?.try_into().ok()?) as usize;
    take(b, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = vec![("reason".to_string(), b"bad".to_vec())];
        let bytes = encode(-5, b"k", &h, b"value");
        assert_eq!(
            decode(&bytes).unwrap(),
            (-5, b"k".to_vec(), h, b"value".to_vec())
        );
        assert!(decode(&bytes[..10]).is_err());
    }
}
