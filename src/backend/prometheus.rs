//! Reading metrics from Prometheus's HTTP API: instant queries and range
//! queries, with everything a real server answers handled: `status: error`
//! with its `errorType`, `NaN` and `±Inf` sample strings, empty results, and
//! a server that is slow or gone.
//!
//! A sample without a number (no series matched, `NaN`, an infinity) is a
//! gap, never a zero: a sparkline shows a gap, and a rule sees nothing.
//!
//! [`super::metrics`] asks it on a schedule and feeds the engine's rules.

use std::time::Duration;

use jiff::Timestamp;

use crate::model::time::Saturating;
use reqwest::header::{self, HeaderValue};
use serde::Deserialize;

/// How long one query may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read: Prometheus gives at most 11,000 points a series,
/// well under a megabyte; a longer answer is refused unread.
pub const MAX_ANSWER: usize = 8 * 1024 * 1024;

/// One point of a series; `None` is a gap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub value: Option<f64>,
}

/// Why a query gave no answer, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Not reached, or no answer in time.
    Unreachable(String),
    /// Prometheus refused the query: its `errorType` and `error`.
    Refused { kind: String, message: String },
    /// The answer was not Prometheus's API.
    Garbled(String),
    /// The query gave this many series where one was wanted.
    Ambiguous(usize),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Unreachable(why) | QueryError::Garbled(why) => f.write_str(why),
            QueryError::Refused { kind, message } => {
                write!(f, "Prometheus refused the query ({kind}): {message}")
            }
            QueryError::Ambiguous(n) => write!(
                f,
                "the query gives {n} series where one is wanted; aggregate it, e.g. sum(...)"
            ),
        }
    }
}

impl std::error::Error for QueryError {}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    values: Vec<(f64, String)>,
}

/// A sample string as Prometheus writes it; `NaN` and infinities are gaps.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A sample's time; one out of the range a release carries is a gap.
fn time(seconds: f64) -> Option<Timestamp> {
    Timestamp::from_nanosecond((seconds * 1e9) as i128)
        .ok()
        .filter(|t| crate::model::time::is_carried(*t))
}

/// Something Prometheus sent, or an error that quotes it, made short and
/// safe to show.
fn quote(text: impl std::fmt::Display) -> String {
    shown(text.to_string())
}

/// Text from Prometheus as it is shown to operators and journaled: no
/// terminal controls, at most 300 characters.
fn shown(text: String) -> String {
    let text = crate::model::text::clean(&text).into_owned();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn envelope(body: &[u8]) -> Result<Data, QueryError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|err| {
        QueryError::Garbled(format!(
            "the answer is not Prometheus's API: {}",
            quote(err)
        ))
    })?;
    if envelope.status != "success" {
        return Err(QueryError::Refused {
            kind: shown(envelope.error_type.unwrap_or_else(|| "error".into())),
            message: shown(envelope.error.unwrap_or_else(|| "no reason given".into())),
        });
    }
    envelope
        .data
        .ok_or_else(|| QueryError::Garbled("a success without data".into()))
}

/// The value of an instant query: the first series' sample, or a gap when
/// no series matched. A scalar result counts too.
pub fn parse_instant(body: &[u8]) -> Result<Option<f64>, QueryError> {
    let data = envelope(body)?;
    match data.result_type.as_str() {
        "vector" => {
            let items: Vec<VectorItem> = serde_json::from_value(data.result).map_err(|err| {
                QueryError::Garbled(format!("a vector that is not one: {}", quote(err)))
            })?;
            if items.len() > 1 {
                return Err(QueryError::Ambiguous(items.len()));
            }
            Ok(items.first().and_then(|item| number(&item.value.1)))
        }
        "scalar" => {
            let (_, value): (f64, String) = serde_json::from_value(data.result).map_err(|err| {
                QueryError::Garbled(format!("a scalar that is not one: {}", quote(err)))
            })?;
            Ok(number(&value))
        }
        other => Err(QueryError::Garbled(format!(
            "an instant query answered with a {}; give a query that yields one series",
            quote(other)
        ))),
    }
}

/// The samples of a range query, one per step from `start` to `end`: where
/// the series has no point (or not a number), a gap.
pub fn parse_range(
    body: &[u8],
    start: Timestamp,
    end: Timestamp,
    step: Duration,
) -> Result<Vec<Sample>, QueryError> {
    let data = envelope(body)?;
    if data.result_type != "matrix" {
        return Err(QueryError::Garbled(format!(
            "a range query answered with a {}",
            quote(&data.result_type)
        )));
    }
    let items: Vec<MatrixItem> = serde_json::from_value(data.result)
        .map_err(|err| QueryError::Garbled(format!("a matrix that is not one: {}", quote(err))))?;
    if items.len() > 1 {
        return Err(QueryError::Ambiguous(items.len()));
    }
    let points: Vec<(Timestamp, Option<f64>)> = items
        .first()
        .map(|item| {
            item.values
                .iter()
                .filter_map(|(at, value)| Some((time(*at)?, number(value))))
                .collect()
        })
        .unwrap_or_default();
    let step = jiff::SignedDuration::try_from(step.max(Duration::from_secs(1)))
        .unwrap_or(jiff::SignedDuration::from_secs(15));
    let mut samples = Vec::new();
    let mut at = start;
    let mut next = points.iter().peekable();
    while at <= end && samples.len() < 100_000 {
        // The point at this step, if the series has one (within half a step).
        let half = step / 2;
        while next.peek().is_some_and(|(t, _)| *t < at.minus(half)) {
            next.next();
        }
        let value = match next.peek() {
            Some((t, v)) if *t <= at.plus(half) => *v,
            _ => None,
        };
        samples.push(Sample { at, value });
        at = at.plus(step);
    }
    Ok(samples)
}

/// A Prometheus server.
#[derive(Clone)]
pub struct Prometheus {
    base: reqwest::Url,
    client: reqwest::Client,
    token: Option<HeaderValue>,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl Prometheus {
    pub fn new(url: &str, token: Option<&str>) -> Result<Prometheus, String> {
        let base = reqwest::Url::parse(url.trim())
            .map_err(|err| format!("`{url}` is not a URL ({err})"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("`{url}` is not an http:// or https:// address"));
        }
        let client = super::http::client(reqwest::Client::builder().timeout(QUERY_TIMEOUT))?;
        let token = super::http::bearer(token)?;
        Ok(Prometheus {
            base,
            client,
            token,
        })
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>, QueryError> {
        let url = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        let mut request = self.client.get(url).query(query);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token.clone());
        }
        let response = request.send().await.map_err(|err| {
            QueryError::Unreachable(if err.is_timeout() {
                format!("Prometheus did not answer in {}s", QUERY_TIMEOUT.as_secs())
            } else {
                format!(
                    "cannot reach Prometheus at {}: {}",
                    self.base,
                    super::http::cause(&err)
                )
            })
        })?;
        let status = response.status();
        let body =
            super::http::read_body(response, MAX_ANSWER)
                .await
                .map_err(|unread| match unread {
                    super::http::Unread::TooLarge(limit) => QueryError::Garbled(format!(
                        "Prometheus's answer is larger than {} MiB; not read",
                        limit / (1024 * 1024)
                    )),
                    super::http::Unread::Broken(why) => {
                        QueryError::Unreachable(format!("Prometheus's answer was cut off: {why}"))
                    }
                })?;
        // Prometheus explains its refusals (400, 422, 503) in the body.
        if !status.is_success() && serde_json::from_slice::<Envelope>(&body).is_err() {
            return Err(QueryError::Unreachable(
                if status == reqwest::StatusCode::NOT_FOUND {
                    format!("{} answered {status}: is it a Prometheus?", self.base)
                } else {
                    format!("Prometheus answered {status}")
                },
            ));
        }
        Ok(body)
    }

    /// The value of `query` now.
    pub async fn instant(&self, query: &str) -> Result<Option<f64>, QueryError> {
        let body = self
            .get("/api/v1/query", &[("query", query.to_string())])
            .await?;
        parse_instant(&body)
    }

    /// The values of `query` over `[start, end]`, one per `step`.
    pub async fn range(
        &self,
        query: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<Vec<Sample>, QueryError> {
        let seconds = |t: Timestamp| format!("{:.3}", t.as_millisecond() as f64 / 1000.0);
        let body = self
            .get(
                "/api/v1/query_range",
                &[
                    ("query", query.to_string()),
                    ("start", seconds(start)),
                    ("end", seconds(end)),
                    ("step", format!("{}s", step.as_secs().max(1))),
                ],
            )
            .await?;
        parse_range(&body, start, end, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_answer_is_a_number_or_a_gap() {
        let vector = |value: &str| {
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"cohort":"canary"}},"value":[1763800000.5,"{value}"]}}]}}}}"#
            )
        };
        assert_eq!(parse_instant(vector("0.031").as_bytes()), Ok(Some(0.031)));
        for gap in ["NaN", "+Inf", "-Inf"] {
            assert_eq!(parse_instant(vector(gap).as_bytes()), Ok(None), "{gap}");
        }
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(
            parse_instant(empty),
            Ok(None),
            "no series is a gap, not a zero"
        );
        let scalar =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1763800000,"2"]}}"#;
        assert_eq!(parse_instant(scalar), Ok(Some(2.0)));
    }

    /// What Prometheus (or something posing as it) sends is quoted in a
    /// few words, never whole, and without its escape sequences.
    #[test]
    fn an_answer_quoted_in_an_error_is_short_and_clean() {
        let long = "x".repeat(1_000_000);
        let answers = [
            format!(r#"{{"status":"success","data":{{"resultType":"]0;t{long}","result":[]}}}}"#),
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"value":[1,2]}}],"x":"{long}"}}}}"#
            ),
            format!(r#"{{"status":"success","data":{{"resultType":"vector","result":"{long}"}}}}"#),
            format!(r#"{{"status":"error","errorType":"{long}","error":"{long}"}}"#),
        ];
        for answer in answers {
            let err = parse_instant(answer.as_bytes()).unwrap_err().to_string();
            assert!(err.len() < 1000, "{} bytes: {:.200}", err.len(), err);
            assert!(!err.contains('\u{1b}'), "{err:.200}");
        }
    }

    #[test]
    fn prometheus_refusals_and_garbage_are_named() {
        let refused = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <EOF>"}"#;
        let err = parse_instant(refused).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Prometheus refused the query (bad_data): 1:5: parse error: unexpected <EOF>"
        );
        assert!(matches!(
            parse_instant(b"<html>502 Bad Gateway</html>"),
            Err(QueryError::Garbled(_))
        ));
        // Two pods' series where one was wanted: no guessing which.
        let two = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1,"0.1"]},{"metric":{"pod":"b"},"value":[1,"0.2"]}]}}"#;
        assert_eq!(parse_instant(two), Err(QueryError::Ambiguous(2)));
        assert!(QueryError::Ambiguous(2).to_string().contains("sum("));
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(
            parse_instant(matrix)
                .unwrap_err()
                .to_string()
                .contains("one series")
        );
    }

    #[test]
    fn a_range_answer_has_one_sample_a_step_with_gaps_where_points_are_missing() {
        let start = Timestamp::from_second(1_763_800_000).unwrap();
        let end = start + jiff::SignedDuration::from_secs(60);
        // Points at +0, +15 (NaN), +45; none at +30 and +60.
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1763800000,"0.01"],[1763800015,"NaN"],[1763800045,"0.04"]]}]}}"#;
        let samples = parse_range(body, start, end, Duration::from_secs(15)).unwrap();
        let values: Vec<Option<f64>> = samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [Some(0.01), None, None, Some(0.04), None]);
        assert_eq!(samples[4].at, end);
    }

    /// One request to a loopback server that answers `body` with `status`;
    /// what the request said.
    async fn ask_once(
        status: &str,
        body: &'static str,
        token: Option<&str>,
    ) -> (String, Result<Option<f64>, QueryError>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let status = status.to_string();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 8192];
            let n = socket.read(&mut request).await.unwrap();
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let prometheus = Prometheus::new(&url, token).unwrap();
        let answer = prometheus.instant("sum(up{job=\"x\"})").await;
        (server.await.unwrap(), answer)
    }

    #[tokio::test]
    async fn the_token_is_sent_as_a_bearer_and_the_query_is_encoded() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.25"]}]}}"#;
        let (request, answer) = ask_once("200 OK", body, Some("s3cret")).await;
        assert_eq!(answer, Ok(Some(0.25)));
        assert!(
            request.starts_with("GET /api/v1/query?query=sum%28up%7Bjob%3D%22x%22%7D%29 "),
            "{request}"
        );
        assert!(
            request
                .to_lowercase()
                .contains("authorization: bearer s3cret"),
            "{request}"
        );
        let (request, _) = ask_once("200 OK", body, None).await;
        assert!(
            !request.to_lowercase().contains("authorization"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn refusals_keep_prometheus_s_reason_and_a_stranger_is_named() {
        let refused = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter"}"#;
        let (_, answer) = ask_once("400 Bad Request", refused, None).await;
        assert!(
            matches!(answer, Err(QueryError::Refused { ref kind, .. }) if kind == "bad_data"),
            "{answer:?}"
        );
        let hostile = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"\\u001b]0;owned\\u0007x\"}";
        let (_, answer) = ask_once("400 Bad Request", hostile, None).await;
        let said = answer.unwrap_err().to_string();
        assert!(
            !said.contains('\u{1b}') && !said.contains('\u{7}'),
            "{said:?}"
        );
        let (_, answer) = ask_once("404 Not Found", "<html>no</html>", None).await;
        let said = answer.unwrap_err().to_string();
        assert!(said.contains("is it a Prometheus?"), "{said}");
    }
}
