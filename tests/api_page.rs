//! The page `docktray serve` serves (issue 13), checked over plain HTTP against a real server: the embedded UI at
//! `/` with a strict CSP and hashed, long-cached assets, no token needed for the page but the Host check kept;
//! the sign-in that turns the token into an HttpOnly session cookie, the CSRF check on changes, sign-out refusing
//! the old cookie. The browser itself is driven in tests/browser/ (scripts/e2e-browser.sh).

mod common;

use common::serve::{header, Answer, Options, Sender, Serve};

#[test]
fn the_page_is_served_with_a_strict_csp_and_long_cached_hashed_assets() {
    let serve = Serve::start(Options::default());
    let Answer {
        status,
        head,
        body: html,
    } = serve.exchange(Sender::Page, "GET", "/", &[], None);
    assert_eq!(status, 200, "{head}{html}");
    assert!(
        header(&head, "content-type").is_some_and(|t| t.starts_with("text/html")),
        "{head}"
    );
    let csp = header(&head, "content-security-policy").expect("a CSP header");
    for rule in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{rule} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(header(&head, "cache-control"), Some("no-cache"));
    assert!(
        html.contains(r#"<meta name="docktray-backend" content="http" />"#),
        "{html}"
    );
    // The entry script: a content-hashed name, cached for good, served as JavaScript.
    let script = html
        .split("src=\"./assets/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the entry script in index.html");
    assert!(
        script.starts_with("index-")
            && script.ends_with(".js")
            && script.len() > "index-.js".len() + 6,
        "{script}"
    );
    let Answer { status, head, .. } =
        serve.exchange(Sender::Page, "GET", &format!("/assets/{script}"), &[], None);
    assert_eq!(status, 200, "{head}");
    assert!(
        header(&head, "content-type").is_some_and(|t| t.starts_with("text/javascript")),
        "{head}"
    );
    assert!(
        header(&head, "cache-control").is_some_and(|c| c.contains("immutable")),
        "{head}"
    );
    // The API reference: a page of the same build, under the same CSP.
    let Answer {
        status,
        head,
        body: html,
    } = serve.exchange(Sender::Page, "GET", "/docs", &[], None);
    assert_eq!(status, 200, "{head}");
    assert!(
        header(&head, "content-type").is_some_and(|t| t.starts_with("text/html")),
        "{head}"
    );
    assert!(
        header(&head, "content-security-policy").is_some_and(|c| c == csp),
        "{head}"
    );
    assert!(html.contains("API reference"), "{html}");
    // The page needs no token, the data does; a rebound DNS name gets neither.
    let (status, _) = serve.page("GET", "/api/v1/snapshot", &[], None);
    assert_eq!(status, 401);
    let Answer { status, body, .. } =
        serve.exchange(Sender::Page, "GET", "/", &["Host: rebind.example:80"], None);
    assert_eq!(status, 403, "{body}");
    let Answer { status, body, .. } =
        serve.exchange(Sender::Page, "GET", "/assets/not-there.js", &[], None);
    assert_eq!(status, 401, "an unknown path is not a page file: {body}");
}

#[test]
fn sign_in_sets_an_httponly_cookie_changes_need_csrf_and_sign_out_ends_it() {
    let serve = Serve::start(Options {
        api: "allow_actions = true",
        ..Options::default()
    });
    let (status, body) = serve.page(
        "POST",
        "/api/v1/session",
        &[],
        Some(r#"{"token": "wrong"}"#),
    );
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("docktray api token") && !body.contains(&serve.token),
        "{body}"
    );

    let sign_in = format!(r#"{{"token": "{}"}}"#, serve.token);
    let Answer { status, head, body } =
        serve.exchange(Sender::Page, "POST", "/api/v1/session", &[], Some(&sign_in));
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(&serve.token),
        "the answer must not hold the token: {body}"
    );
    let cookie = header(&head, "set-cookie")
        .expect("a session cookie")
        .to_ascii_lowercase();
    for part in ["httponly", "secure", "samesite=strict", "path=/"] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    let session = cookie.split(';').next().expect("name=value").to_owned();
    assert!(
        session.starts_with("__host-docktray=") && !session.contains(&serve.token),
        "{session}"
    );
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let csrf = answer["csrf"].as_str().expect("a CSRF token").to_owned();
    assert_eq!(answer["allow_actions"], true);
    // The value is hex, so the lower-cased header holds it as sent.
    let value = session.trim_start_matches("__host-docktray=");
    let cookie_header = format!("Cookie: __Host-docktray={value}");

    let (status, body) = serve.page("GET", "/api/v1/snapshot", &[&cookie_header], None);
    assert_eq!(status, 200, "the cookie signs reads in: {body}");
    let (status, body) = serve.page("GET", "/api/v1/session", &[&cookie_header], None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"csrf\""), "{body}");
    // A change with the cookie but without the CSRF token is refused before it reaches Docker.
    let (status, body) = serve.page(
        "POST",
        "/api/v1/containers/no-such-container/stop",
        &[&cookie_header],
        None,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("x-docktray-csrf"), "{body}");
    let with_csrf = format!("x-docktray-csrf: {csrf}");
    let (status, body) = serve.page(
        "POST",
        "/api/v1/containers/no-such-container/stop",
        &[&cookie_header, &with_csrf],
        None,
    );
    assert_eq!(
        status, 404,
        "with the CSRF token the request reaches the handler: {body}"
    );

    let Answer { status, head, .. } = serve.exchange(
        Sender::Page,
        "DELETE",
        "/api/v1/session",
        &[&cookie_header, &with_csrf],
        None,
    );
    assert_eq!(status, 204);
    assert!(
        header(&head, "set-cookie").is_some_and(|c| c.to_ascii_lowercase().contains("max-age=0")),
        "{head}"
    );
    let (status, body) = serve.page("GET", "/api/v1/snapshot", &[&cookie_header], None);
    assert_eq!(status, 401, "the old cookie after sign-out: {body}");
    assert!(body.contains("sign in again"), "{body}");
}
