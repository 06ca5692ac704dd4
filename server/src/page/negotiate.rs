//! Which encoding a browser gets: brotli when it accepts it, else gzip,
//! else the file as it is (`Accept-Encoding`, with q-values).

/// A representation of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `Content-Encoding: br`.
    Brotli,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// As it is.
    Identity,
}

/// The q-value `accept` gives `coding` (a `*` counts for codings it does
/// not name); 0 when it is not acceptable.
fn quality(accept: &str, coding: &str) -> f32 {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0.0)
}

/// The best coding `accept` allows among those that exist.
pub fn choose(accept: Option<&str>, has_brotli: bool, has_gzip: bool) -> Coding {
    let accept = accept.unwrap_or_default();
    let br = if has_brotli {
        quality(accept, "br")
    } else {
        0.0
    };
    let gz = if has_gzip {
        quality(accept, "gzip")
    } else {
        0.0
    };
    if br > 0.0 && br >= gz {
        Coding::Brotli
    } else if gz > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_first_then_gzip_then_the_file() {
        let chrome = Some("gzip, deflate, br, zstd");
        assert_eq!(choose(chrome, true, true), Coding::Brotli);
        assert_eq!(choose(chrome, false, true), Coding::Gzip);
        assert_eq!(choose(Some("gzip"), true, true), Coding::Gzip);
        assert_eq!(choose(Some("br;q=0, gzip"), true, true), Coding::Gzip);
        assert_eq!(
            choose(Some("br;q=0.5, gzip;q=0.9"), true, true),
            Coding::Gzip
        );
        assert_eq!(choose(Some("*"), true, true), Coding::Brotli);
        assert_eq!(choose(Some("identity"), true, true), Coding::Identity);
        assert_eq!(choose(None, true, true), Coding::Identity);
        assert_eq!(choose(Some("BR"), true, false), Coding::Brotli);
    }
}
