//! What the browser tests drive Chromium with: chromedriver on a free port, a WebDriver session,
//! the DevTools protocol through chromedriver (light and dark, phone widths, full-page
//! screenshots), axe-core injected into each page, and the keyboard.
//!
//! axe-core comes from npm, pinned in `crates/server/tests/browser/package.json` with its lock
//! file; `.ci/run` installs it with `npm ci`, and [`axe_source`] does the same when it is
//! missing, so a plain `cargo nextest run` works wherever npm does.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::eventually;

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn executable(name: &str, candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found (looked at {candidates:?}); install Debian's chromium and \
                 chromium-driver packages: apt-get install chromium chromium-driver"
            )
        })
}

async fn driver() -> Driver {
    let binary = executable(
        "chromedriver",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    eventually(Duration::from_secs(20), "chromedriver starts", async || {
        reqwest::get(format!("{}/status", driver.url)).await.is_ok()
    })
    .await;
    driver
}

/// The screen widths every page is looked at in.
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// The axe-core script, installed from the pinned package when missing.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        let script = folder.join("node_modules/axe-core/axe.min.js");
        if !script.exists() {
            // One install at a time: several test processes may get here together.
            static INSTALL: Mutex<()> = Mutex::new(());
            let _turn = INSTALL.lock().unwrap();
            if !script.exists() {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                    .arg(&folder)
                    .status();
                assert!(
                    matches!(status, Ok(s) if s.success()) && script.exists(),
                    "axe-core is missing and `npm ci --prefix {}` did not install it ({status:?}); \
                     install Node.js and npm, or run .ci/run",
                    folder.display()
                );
            }
        }
        std::fs::read_to_string(&script).unwrap()
    })
}

/// Where the screenshots go: `target/tmp/ui-screenshots/`.
pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium through chromedriver, with what the tests look at pages with.
pub struct Browser {
    pub client: Client,
    driver: Driver,
    session: String,
    /// Serious and critical axe-core findings so far, one line each, with their page.
    findings: Mutex<Vec<String>>,
}

impl Browser {
    pub async fn start() -> Browser {
        let driver = driver().await;
        let chromium = executable(
            "chromium",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox",
                "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
                format!("--window-size={},{}", DESKTOP.0, DESKTOP.1)]}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a Chromium session through chromedriver");
        let session = client.session_id().await.unwrap().unwrap();
        Browser {
            client,
            driver,
            session,
            findings: Mutex::new(Vec::new()),
        }
    }

    /// A DevTools protocol command, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/session/{}/goog/cdp/execute",
                self.driver.url, self.session
            ))
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert!(body["value"]["error"].is_null(), "{cmd}: {body}");
        body["value"].clone()
    }

    /// Light or dark, as the page's `prefers-color-scheme` sees it.
    pub async fn scheme(&self, dark: bool) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme",
                "value": if dark { "dark" } else { "light" }}]}),
        )
        .await;
    }

    /// A phone's screen (`Some`) or the desktop window (`None`).
    pub async fn phone(&self, on: bool) {
        if on {
            self.cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 1,
                    "mobile": true}),
            )
            .await;
        } else {
            self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
                .await;
        }
    }

    /// The whole page (not just the window) as a PNG in [`screenshots`].
    pub async fn shoot(&self, name: &str) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let (width, height) = (
            size["width"].as_f64().unwrap().ceil(),
            size["height"].as_f64().unwrap().ceil(),
        );
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }

    /// Runs axe-core on the page as it is; keeps its serious and critical findings.
    pub async fn audit(&self, name: &str) {
        let loaded = self
            .client
            .execute("return typeof window.axe;", vec![])
            .await
            .unwrap();
        if loaded != json!("object") {
            self.client
                .execute(&format!("{}\nreturn true;", axe_source()), vec![])
                .await
                .unwrap();
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' +
                        v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        let found: Vec<String> = serde_json::from_value(found).unwrap();
        self.findings
            .lock()
            .unwrap()
            .extend(found.into_iter().map(|f| format!("{name}: {f}")));
    }

    /// The page as it is, in light and dark, at desktop and phone widths: a screenshot and an
    /// axe-core audit of each (`NAME-light.png`, `NAME-dark-phone.png`, …).
    pub async fn look(&self, name: &str) {
        self.ready().await;
        for phone in [false, true] {
            self.phone(phone).await;
            for dark in [false, true] {
                self.scheme(dark).await;
                let variant = format!(
                    "{name}-{}{}",
                    if dark { "dark" } else { "light" },
                    if phone { "-phone" } else { "" }
                );
                self.shoot(&variant).await;
                self.audit(&variant).await;
            }
        }
        self.phone(false).await;
        self.scheme(false).await;
    }

    /// Fails with every serious or critical finding of every page looked at.
    pub fn assert_accessible(&self) {
        let findings = self.findings.lock().unwrap();
        assert!(
            findings.is_empty(),
            "axe-core found {} serious or critical violation(s):\n{}",
            findings.len(),
            findings.join("\n")
        );
    }

    /// Waits until the document has loaded.
    pub async fn ready(&self) {
        eventually(Duration::from_secs(10), "the page loads", async || {
            let state = self
                .client
                .execute("return document.readyState;", vec![])
                .await
                .unwrap();
            state == json!("complete")
        })
        .await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
        self.ready().await;
    }

    /// Waits for an element (pages are server-rendered, but navigation is asynchronous).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Does what navigates (a click, a key) and waits until the next page has replaced this
    /// one, so nothing is read from the page being left.
    pub async fn navigating<F: Future<Output = ()>>(&self, action: F) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        action.await;
        eventually(Duration::from_secs(10), "the page changes", async || {
            old.tag_name().await.is_err()
        })
        .await;
        self.ready().await;
    }

    pub async fn click_and_wait(&self, css: &str) {
        let target = self.find(css).await;
        self.navigating(async {
            target.click().await.unwrap();
        })
        .await;
    }

    /// Presses keys where the focus is, as a keyboard would (`\u{e004}` Tab, `\u{e007}`
    /// Enter, or text).
    pub async fn press(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// Presses keys together, as a chord (`\u{e008}\u{e004}`: Shift and Tab).
    pub async fn chord(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions = actions.then(KeyAction::Down { value: key });
        }
        for key in keys.chars().rev() {
            actions = actions.then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// What has the focus, and whether it shows it: `(id, name, href or tag; tag; ring)`, the
    /// ring true
    /// when the element matches `:focus-visible` and draws an outline at least 2px wide.
    pub async fn focused(&self) -> (String, String, bool) {
        let info = self
            .client
            .execute(
                "const el = document.activeElement;
                 const style = getComputedStyle(el);
                 return [el.id || el.getAttribute('name') || el.getAttribute('href')
                           || el.tagName.toLowerCase(),
                         el.tagName.toLowerCase(),
                         el.matches(':focus-visible') && style.outlineStyle !== 'none'
                           && parseFloat(style.outlineWidth) >= 2];",
                vec![],
            )
            .await
            .unwrap();
        (
            info[0].as_str().unwrap_or_default().to_owned(),
            info[1].as_str().unwrap_or_default().to_owned(),
            info[2].as_bool().unwrap_or(false),
        )
    }

    /// Presses Tab until the focus reaches `target` (an id, name or href), at most `limit`
    /// times; returns the stops on the way (the target last), each checked to show its focus.
    pub async fn tab_to(&self, target: &str, limit: usize) -> Vec<String> {
        let mut stops = Vec::new();
        for _ in 0..limit {
            self.press("\u{e004}").await;
            let (id, tag, ring) = self.focused().await;
            assert!(
                ring,
                "the focus on {tag} {id:?} is not visible (no :focus-visible outline)"
            );
            stops.push(id.clone());
            if id == target {
                return stops;
            }
        }
        panic!("Tab never reached {target:?}; it went {stops:?}");
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
