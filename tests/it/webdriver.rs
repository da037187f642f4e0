//! A small WebDriver client (the W3C protocol over HTTP, with reqwest) driving Debian's
//! `chromium` through `chromedriver`, headless, for the reception page's browser tests.
//!
//! Without `chromedriver` on the machine the browser tests are skipped, unless
//! `PMH_GATEWAY_REQUIRE_BROWSER=1` (CI sets it) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Where screenshots go: `target/browser-artifacts/` (kept by CI as test artefacts).
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` (skipped, with a note on
    /// stderr) without them.
    #[allow(clippy::print_stderr)]
    pub async fn start() -> Option<Self> {
        let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let Some(driver) = driver else {
            assert!(
                std::env::var("PMH_GATEWAY_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "PMH_GATEWAY_REQUIRE_BROWSER=1 but chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "browser test skipped: no chromedriver (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let root = format!("http://127.0.0.1:{port}");
        // Ready when /status answers (a start takes well under a second; allow 20 s on a loaded
        // machine).
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{root}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not start");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1100",
                    "--lang=ja", format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let r: Value = http
            .post(format!("{root}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Some(Self {
            http,
            base: format!("{root}/session/{id}"),
            driver: child,
            _profile: profile,
        })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// A command's value, or the WebDriver's error and message.
    async fn try_cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        match v["value"]["error"].as_str() {
            Some(e) => Err(format!("{e}: {}", v["value"]["message"])),
            None => Ok(v["value"].clone()),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.cmd(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The elements matching a CSS selector now (maybe none).
    pub async fn all(&self, css: &str) -> Vec<String> {
        let v = self
            .http
            .post(format!("{}/elements", self.base))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        v["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
            .collect()
    }

    /// The first element matching `css`, waiting up to `secs` for it.
    pub async fn wait(&self, css: &str, secs: u64) -> String {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.all(css).await.into_iter().next() {
                return e;
            }
            assert!(
                std::time::Instant::now() < end,
                "no element {css} within {secs} s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn text(&self, el: &str) -> String {
        self.get(&format!("/element/{el}/text"))
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// An attribute of an element that may have gone with a navigation: `Err` with the
    /// WebDriver's error (e.g. a stale element) instead of a panic.
    pub async fn try_attr(&self, el: &str, name: &str) -> Result<Option<String>, String> {
        let path = format!("/element/{el}/attribute/{name}");
        let v = self.try_cmd(reqwest::Method::GET, &path, None).await?;
        Ok(v.as_str().map(str::to_owned))
    }

    pub async fn attr(&self, el: &str, name: &str) -> Option<String> {
        self.get(&format!("/element/{el}/attribute/{name}"))
            .await
            .as_str()
            .map(str::to_owned)
    }

    pub async fn click(&self, el: &str) {
        self.post(&format!("/element/{el}/click"), json!({})).await;
    }

    pub async fn type_into(&self, el: &str, text: &str) {
        self.post(&format!("/element/{el}/value"), json!({ "text": text }))
            .await;
    }

    /// Runs a script in the page; its return value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Writes a PNG of the viewport to `artifacts()/name`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let v = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let path = artifacts().join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Lays the page out as a screen of `width` × `height` pixels at `zoom` (1.0 = 100 %) would:
    /// a CSS viewport of `width / zoom` × `height / zoom` drawn at `zoom` device pixels per CSS
    /// pixel — what the browser's own zoom does (media queries see the narrower viewport).
    /// Through chromedriver's DevTools command `Emulation.setDeviceMetricsOverride`.
    pub async fn view(&self, width: u32, height: u32, zoom: f64) {
        let css = |px: u32| (f64::from(px) / zoom).round() as u32;
        self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": css(width), "height": css(height), "deviceScaleFactor": zoom, "mobile": false
            }}),
        )
        .await;
    }

    /// The page's weight: the document's transfer and body sizes, then its assets' (the live
    /// feed left out).
    pub async fn page_weight(&self) -> Value {
        self.run(
            "const n = performance.getEntriesByType('navigation')[0]; \
             const r = performance.getEntriesByType('resource').filter(e => !e.name.includes('/events')); \
             return [n.transferSize, n.decodedBodySize, r.reduce((a, e) => a + e.transferSize, 0), r.reduce((a, e) => a + e.decodedBodySize, 0)];",
            json!([]),
        )
        .await
    }

    /// Whether the page is wider than its viewport (the clerk would scroll sideways).
    pub async fn overflows_sideways(&self) -> bool {
        self.run(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            json!([]),
        )
        .await
        .as_bool()
        .unwrap()
    }

    /// The page printed to PDF (A4), as the browser's print would lay it out.
    pub async fn print_pdf(&self) -> Vec<u8> {
        use base64::Engine;
        let v = self
            .post(
                "/print",
                json!({"page": {"width": 21.0, "height": 29.7}, "background": true}),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    }

    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.base).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
