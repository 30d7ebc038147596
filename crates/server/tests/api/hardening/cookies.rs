//! The session cookie is `Secure` when users reach the server over https
//! (`TRIBUTARY_PUBLIC_URL`), and not otherwise (a plain-http development server must still
//! sign in).

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use tributary_simulator::Config;

use crate::helpers::{ORG_SECRET, USER_SECRET, spawn_app_with};

/// Signs in through the form; returns every `Set-Cookie` of the sign-in page and the answer.
async fn sign_in_cookies(public_url: Option<&str>) -> Vec<String> {
    let public_url = public_url.map(str::to_owned);
    let app = spawn_app_with(Config::default(), move |s| s.public_url = public_url).await;
    let root = app.api.trim_end_matches("/elements/api-v2").to_owned();
    let form = app
        .http
        .get(format!("{root}/sign-in"))
        .send()
        .await
        .unwrap();
    let mut cookies: Vec<String> = form
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let csrf_cookie = cookies[0].split(';').next().unwrap().to_owned();
    let html = form.text().await.unwrap();
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = html[start..].split('"').next().unwrap().to_owned();
    let signed_in = app
        .http
        .post(format!("{root}/sign-in"))
        .header(COOKIE, csrf_cookie)
        .form(&[
            ("user", USER_SECRET),
            ("organization", ORG_SECRET),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    cookies.extend(
        signed_in
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned()),
    );
    cookies
}

#[tokio::test]
async fn the_session_cookie_is_secure_exactly_when_the_public_url_is_https() {
    let secure = sign_in_cookies(Some("https://tributary.example")).await;
    let session = secure
        .iter()
        .find(|c| c.starts_with("tributary_session="))
        .unwrap();
    assert!(session.ends_with("; Secure"), "{session}");
    assert!(secure.iter().all(|c| c.contains("; Secure")), "{secure:?}");
    let plain = sign_in_cookies(None).await;
    assert!(plain.iter().all(|c| !c.contains("Secure")), "{plain:?}");
    let http = sign_in_cookies(Some("http://127.0.0.1:8080")).await;
    assert!(http.iter().all(|c| !c.contains("Secure")), "{http:?}");
}
