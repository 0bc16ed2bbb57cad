use super::*;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<ChannelConfig, ConfigError> {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ChannelConfig::parse(Path::new("channel.toml"), text, &env)
}

#[test]
fn defaults_are_the_house_format() {
    let c = parse("", &[]).expect("empty config is valid");
    assert_eq!((c.profile.width, c.profile.height), (1920, 1080));
    assert_eq!(c.profile.rate, Rate::PAL);
    assert_eq!(c.profile.keyframe_interval, 50);
    assert_eq!(c.profile.video_kbps, 6000);
}

#[test]
fn the_env_gives_stream_keys() {
    let text = "[[destination]]\nname = \"bili-main\"\nurl = \"rtmp://h/live/placeholder\"\n\n[[destination]]\nname = \"srt\"\n";
    let c = parse(
        text,
        &[
            (
                "KEPU_DESTINATION_BILI_MAIN_URL",
                "rtmp://h/live/real-key-123456",
            ),
            (
                "KEPU_DESTINATION_SRT_URL",
                "srt://127.0.0.1:9000?passphrase=abcdefghijkl",
            ),
        ],
    )
    .expect("valid");
    assert_eq!(c.destinations[0].url, "rtmp://h/live/real-key-123456");
    assert!(c.destinations[1].url.starts_with("srt://"));
}

#[test]
fn errors_name_file_line_and_field() {
    let e = parse("[output]\nwidth = 1280\npreset = \"warp\"\n", &[])
        .expect_err("must be refused")
        .0;
    assert!(e.starts_with("channel.toml:3: output.preset"), "{e}");
    let e = parse("[output]\nfrobnicate = 1\n", &[])
        .expect_err("must be refused")
        .0;
    assert!(
        e.starts_with("channel.toml:2:") && e.contains("frobnicate"),
        "{e}"
    );
    let e = parse("[[destination]]\nname = \"a\"\n", &[])
        .expect_err("must be refused")
        .0;
    assert!(
        e.contains("destination.url") && e.contains("KEPU_DESTINATION_A_URL"),
        "{e}"
    );
    let e = parse(
        "[[destination]]\nname = \"a\"\nurl = \"rtmp://h/onlyapp-secretkey\"\n",
        &[],
    )
    .expect_err("must be refused")
    .0;
    assert!(e.starts_with("channel.toml:3: destination.url"), "{e}");
    let e = parse("[retry]\ncap_ms = 60000\n", &[])
        .expect_err("must be refused")
        .0;
    assert!(e.starts_with("channel.toml:2: retry.cap_ms"), "{e}");
}

#[test]
fn a_bad_url_error_never_shows_the_key() {
    let e = parse(
        "[[destination]]\nname = \"a\"\nurl = \"rtmp://h:notaport/app/sk-verysecret123\"\n",
        &[],
    )
    .expect_err("must be refused")
    .0;
    assert!(!e.contains("sk-verysecret123"), "{e}");
}
