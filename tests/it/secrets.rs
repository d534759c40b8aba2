//! Secret hygiene on AWS: with the most verbose logging, in human and JSON
//! output, planted credentials (secret key, session token) and a secret
//! environment value never appear in any output or in any file fnctl
//! writes — while the secret does reach the function's configuration.

use crate::faults::all_triggers_project;
use crate::moto::Moto;

const SECRET_KEY: &str = "planted-aws-secret-key-7f3a9c";
const SESSION_TOKEN: &str = "planted-aws-session-token-52be01";
const PAYMENT_KEY: &str = "sk_live_planted_payment_key_e41d";

#[test]
fn aws_credentials_and_secret_env_never_appear_in_output_or_files() {
    let moto = Moto::start();
    let (dir, manifest) = all_triggers_project();
    let mut transcript = String::new();
    for args in [
        vec!["-v", "deploy", "-p", "aws"],
        vec!["-v", "plan", "-p", "aws"],
        vec!["-v", "info", "-p", "aws"],
        vec!["-v", "invoke", "orders", "-p", "aws", "--event", "http"],
        vec!["-v", "deploy", "-p", "aws"],
    ] {
        for json in [false, true] {
            let mut cmd = crate::common::fnctl();
            for (k, v) in moto.env() {
                cmd.env(k, v);
            }
            cmd.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
                .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
                .env("SHOP_PAYMENT_KEY", PAYMENT_KEY)
                .arg("--manifest")
                .arg(&manifest);
            if json {
                cmd.args(["--output", "json"]);
            }
            let out = cmd.args(&args).output().unwrap();
            transcript.push_str(&String::from_utf8_lossy(&out.stdout));
            transcript.push_str(&String::from_utf8_lossy(&out.stderr));
        }
    }
    // The run did real work: the secret is in the function's configuration.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = rt.block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
        lambda
            .get_function_configuration()
            .function_name("shop-dev-orders")
            .send()
            .await
            .unwrap()
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default()
    });
    assert_eq!(
        env.get("PAYMENT_KEY").map(String::as_str),
        Some(PAYMENT_KEY)
    );
    assert!(transcript.contains("(sensitive)"), "{transcript}");
    assert!(transcript.contains("shop-dev-orders"), "{transcript}");

    let mut files = String::new();
    crate::azure::collect_text(dir.path(), &mut files);
    assert!(!files.is_empty());
    for secret in [SECRET_KEY, SESSION_TOKEN, PAYMENT_KEY] {
        assert!(
            !transcript.contains(secret),
            "`{secret}` in output:\n{transcript}"
        );
        assert!(!files.contains(secret), "`{secret}` in a file fnctl wrote");
    }
}
