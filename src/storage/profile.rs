//! The AWS shared configuration files' profile, for what the environment leaves out: the
//! `object_store` crate reads `AWS_*` variables but not `~/.aws/credentials` or
//! `~/.aws/config`, which is where most people keep their keys.
//!
//! The profile is `AWS_PROFILE` (else `default`); the files are `AWS_SHARED_CREDENTIALS_FILE`
//! and `AWS_CONFIG_FILE` (else `~/.aws/credentials` and `~/.aws/config`). A variable that is set
//! always wins over a file, as in the AWS CLI. Only static keys, a session token, the region
//! and `endpoint_url` are read: roles and SSO need the AWS SDK.

use std::path::PathBuf;

use object_store::aws::AmazonS3ConfigKey;

/// What the profile adds to the environment's settings.
pub fn settings() -> Vec<(AmazonS3ConfigKey, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let home = var("HOME").map(PathBuf::from);
    let file = |variable: &str, default: &str| {
        var(variable)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let credentials =
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials").and_then(|path| ini::Ini::load_from_file(path).ok());
    let config = file("AWS_CONFIG_FILE", "config").and_then(|path| ini::Ini::load_from_file(path).ok());
    from_files(&profile, credentials.as_ref(), config.as_ref(), |name| {
        var(name).is_some()
    })
}

/// The settings profile `profile` gives in the credentials and config files, leaving out any
/// whose variable `is_set`.
fn from_files(
    profile: &str,
    credentials: Option<&ini::Ini>,
    config: Option<&ini::Ini>,
    is_set: impl Fn(&str) -> bool,
) -> Vec<(AmazonS3ConfigKey, String)> {
    // In the config file every profile but `default` is `[profile NAME]`.
    let config_section = match profile {
        "default" => "default".to_owned(),
        name => format!("profile {name}"),
    };
    let from_credentials = |key: &str| credentials?.section(Some(profile))?.get(key).map(str::to_owned);
    let from_config = |key: &str| {
        config?
            .section(Some(config_section.as_str()))?
            .get(key)
            .map(str::to_owned)
    };
    let wanted = [
        (AmazonS3ConfigKey::AccessKeyId, "AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        (
            AmazonS3ConfigKey::SecretAccessKey,
            "AWS_SECRET_ACCESS_KEY",
            "aws_secret_access_key",
        ),
        (AmazonS3ConfigKey::Token, "AWS_SESSION_TOKEN", "aws_session_token"),
        (AmazonS3ConfigKey::Region, "AWS_REGION", "region"),
        (AmazonS3ConfigKey::Endpoint, "AWS_ENDPOINT_URL", "endpoint_url"),
    ];
    // Keys come as a pair or not at all: half of one pair and half of another sign nothing.
    let keys_from_env = is_set("AWS_ACCESS_KEY_ID") || is_set("AWS_SECRET_ACCESS_KEY");
    let mut settings = Vec::new();
    for (key, variable, name) in wanted {
        let env_has_it = match key {
            AmazonS3ConfigKey::AccessKeyId | AmazonS3ConfigKey::SecretAccessKey | AmazonS3ConfigKey::Token => {
                keys_from_env
            }
            AmazonS3ConfigKey::Region => is_set("AWS_REGION") || is_set("AWS_DEFAULT_REGION"),
            AmazonS3ConfigKey::Endpoint => is_set("AWS_ENDPOINT_URL") || is_set("AWS_ENDPOINT"),
            _ => is_set(variable),
        };
        if env_has_it {
            continue;
        }
        if let Some(value) = from_credentials(name).or_else(|| from_config(name)) {
            settings.push((key, value));
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> ini::Ini {
        ini::Ini::load_from_str(text).unwrap()
    }

    #[test]
    fn a_named_profile_gives_keys_region_and_endpoint_the_environment_lacks() {
        let credentials = ini("[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\
             [cites]\naws_access_key_id = K\naws_secret_access_key = S\n");
        let config = ini(
            "[default]\nregion = us-east-1\n[profile cites]\nregion = eu-west-3\nendpoint_url = http://127.0.0.1:9000\n",
        );
        let got = from_files("cites", Some(&credentials), Some(&config), |_| false);
        assert_eq!(
            got,
            vec![
                (AmazonS3ConfigKey::AccessKeyId, "K".to_owned()),
                (AmazonS3ConfigKey::SecretAccessKey, "S".to_owned()),
                (AmazonS3ConfigKey::Region, "eu-west-3".to_owned()),
                (AmazonS3ConfigKey::Endpoint, "http://127.0.0.1:9000".to_owned()),
            ]
        );
    }

    #[test]
    fn the_environment_wins_and_keys_never_mix() {
        let credentials = ini("[default]\naws_access_key_id = K\naws_secret_access_key = S\naws_session_token = T\n");
        let config = ini("[default]\nregion = eu-west-3\n");
        // Only the key id in the environment: the file's secret must not be paired with it.
        let got = from_files("default", Some(&credentials), Some(&config), |v| {
            v == "AWS_ACCESS_KEY_ID"
        });
        assert_eq!(got, vec![(AmazonS3ConfigKey::Region, "eu-west-3".to_owned())]);
        let got = from_files("default", Some(&credentials), Some(&config), |v| {
            v == "AWS_DEFAULT_REGION"
        });
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(from_files("missing", Some(&credentials), None, |_| false).is_empty());
    }
}
