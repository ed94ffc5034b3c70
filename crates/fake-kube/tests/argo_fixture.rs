//! Argo's own canary example, loaded from a fixture directory and walked
//! through with the plugin's promote patch.

use std::time::Duration;

use fake_kube::FakeKube;
use serde_json::{Value, json};

fn status(kube: &FakeKube) -> (i64, i64, String) {
    let ro = kube.get("Rollout", "default", "rollout-canary").unwrap();
    let num = |p: &str| ro.pointer(p).and_then(Value::as_i64).unwrap_or(-1);
    let phase = ro
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    (
        num("/status/currentStepIndex"),
        num("/status/canary/weights/canary/weight"),
        phase.to_string(),
    )
}

fn patch(kube: &FakeKube, path: &str, body: &Value) -> u16 {
    use std::io::{Read, Write};
    let addr = kube.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let body = body.to_string();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/merge-patch+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all((head + &body).as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn argos_canary_example_walks_its_steps_on_promote_and_timed_pauses() {
    let kube = FakeKube::start();
    kube.time_scale(0.001);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/argo");
    assert_eq!(kube.load_dir(dir), Ok(1));
    assert_eq!(status(&kube), (8, 0, "Healthy".into()));
    let base = "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/rollout-canary";
    let green = json!({"spec": {"template": {"spec": {"containers": [{"name": "rollouts-demo", "image": "argoproj/rollouts-demo:green"}]}}}});
    assert_eq!(patch(&kube, base, &green), 200);
    assert_eq!(status(&kube), (1, 20, "Paused".into()));
    assert_eq!(
        patch(
            &kube,
            &format!("{base}/status"),
            &json!({"status": {"pauseConditions": null}})
        ),
        200
    );
    assert_eq!(status(&kube), (3, 40, "Paused".into()));
    for _ in 0..100 {
        if status(&kube).2 == "Healthy" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status(&kube), (8, 0, "Healthy".into()));
}
