//! Query parameters and `Link`-header pagination as GitHub does it.

/// Percent-decodes `%XX` and `+`.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `key=value` pair of a query string, decoded.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// One query parameter, decoded.
pub fn param(query: &str, key: &str) -> Option<String> {
    pairs(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// One page of a list: `per_page` (default 30, at most 100) and `page`
/// (from 1).
pub(crate) struct Page {
    pub per_page: usize,
    pub page: usize,
    pub total: usize,
}

impl Page {
    pub(crate) fn of(query: &str, total: usize) -> Page {
        let number = |key: &str| param(query, key).and_then(|v| v.parse::<usize>().ok());
        Page {
            per_page: number("per_page").unwrap_or(30).clamp(1, 100),
            page: number("page").unwrap_or(1).max(1),
            total,
        }
    }

    pub(crate) fn last(&self) -> usize {
        self.total.div_ceil(self.per_page).max(1)
    }

    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        let start = ((self.page - 1) * self.per_page).min(self.total);
        start..(start + self.per_page).min(self.total)
    }

    /// The `Link` header (prev, next, last, first where they apply), or
    /// nothing when everything fits on one page.
    pub(crate) fn link(&self, base: &str, path: &str, query: &str) -> Option<(String, String)> {
        let last = self.last();
        if last == 1 && self.page == 1 {
            return None;
        }
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("page="))
            .collect();
        let url = |page: usize| {
            let mut q = kept.clone();
            let page = format!("page={page}");
            q.push(&page);
            format!("<{base}{path}?{}>", q.join("&"))
        };
        let mut links = Vec::new();
        if self.page > 1 {
            links.push(format!("{}; rel=\"prev\"", url((self.page - 1).min(last))));
        }
        if self.page < last {
            links.push(format!("{}; rel=\"next\"", url(self.page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if self.page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
        }
        Some(("link".into(), links.join(", ")))
    }
}
