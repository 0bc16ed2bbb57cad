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
    // A value out of range is named at its own line, whichever key it is.
    let e = parse(
        "[output]\nwidth = 1280\nheight = 720\naudio_kbps = 600\n",
        &[],
    )
    .expect_err("must be refused")
    .0;
    assert!(
        e.starts_with("channel.toml:4: output.audio_kbps: audio bit rate 600 kbit/s"),
        "{e}"
    );
    let e = parse("[output]\nwidth = 1280\nheight = 721\n", &[])
        .expect_err("must be refused")
        .0;
    assert!(e.starts_with("channel.toml:3: output.height"), "{e}");
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

#[test]
fn corrupted_configs_never_panic() {
    let good = "[channel]\nname = \"科普\"\n[output]\nwidth = 1280\nheight = 720\nfps = \"30000/1001\"\npreset = \"fast\"\nkeyframe_seconds = 2\n[retry]\nfirst_ms = 100\ncap_ms = 2000\n[[destination]]\nname = \"a\"\nurl = \"rtmp://h:1935/live/key\"\n[[destination]]\nname = \"b\"\nurl = \"srt://h:9000?passphrase=0123456789\"\n";
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: Vec<char> = "[]=\"/:?&.-0123456789 \n#科abcdefghijklmnoprstuvwxyz"
        .chars()
        .collect();
    for _ in 0..4000 {
        let mut chars: Vec<char> = good.chars().collect();
        for _ in 0..(next() % 6 + 1) {
            let pos = (next() as usize) % (chars.len() + 1);
            match next() % 3 {
                0 if pos < chars.len() => {
                    chars.remove(pos);
                }
                1 => chars.insert(pos, alphabet[(next() as usize) % alphabet.len()]),
                _ => chars.truncate(pos),
            }
        }
        let text: String = chars.into_iter().collect();
        if let Err(e) = parse(&text, &[]) {
            assert!(e.0.starts_with("channel.toml"), "{e} for {text:?}");
            assert!(
                !e.0.contains("0123456789"),
                "a passphrase leaked into an error: {e}"
            );
        }
    }
}

#[test]
fn the_daemon_sections_have_safe_defaults_and_named_errors() {
    let c = parse("", &[]).expect("empty config is valid");
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.database, "kepu.db");
    assert_eq!(c.server.edition, None);
    assert!(
        c.server
            .preview_dir
            .as_ref()
            .is_some_and(|p| p.is_absolute() && p.ends_with("preview"))
    );
    assert_eq!(c.air, AirConfig::default());
    let off = parse("[server]\npreview = false\n", &[]).expect("valid");
    assert_eq!(off.server.preview_dir, None);
    let c = parse(
        "[server]\nlisten = \"0.0.0.0:9000\"\n\n[air]\nlookahead_minutes = 30\nclock_offset_ms = -5000\n",
        &[("KEPU_DATABASE_URL", "postgres://u:pw@db/kepu")],
    )
    .expect("valid");
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(c.server.database, "postgres://u:pw@db/kepu");
    assert_eq!(c.air.lookahead, Duration::from_secs(1800));
    assert_eq!(c.air.clock_offset_ms, -5000);
    for (text, want) in [
        (
            "[server]\nlisten = \"everywhere\"\n",
            "channel.toml:2: server.listen",
        ),
        (
            "[air]\nlookahead_minutes = 0\n",
            "channel.toml:2: air.lookahead_minutes",
        ),
        (
            "\n[air]\nedit_lead_ms = 50\n",
            "channel.toml:3: air.edit_lead_ms",
        ),
        (
            "[server]\nedition = \"nope.toml\"\n",
            "channel.toml:2: server.edition",
        ),
        ("[server]\nport = 1\n", "channel.toml:2"),
    ] {
        let e = parse(text, &[]).expect_err(text).to_string();
        assert!(e.starts_with(want), "{text:?} → {e}");
    }
}

#[test]
fn fps_is_written_as_a_number_or_a_fraction() {
    for (text, num, den) in [
        ("fps = 25", 25, 1),
        ("fps = \"25\"", 25, 1),
        ("fps = 30", 30, 1),
        ("fps = \"30000/1001\"", 30_000, 1001),
        ("fps = 29.97", 30_000, 1001),
        ("fps = \"29.97\"", 30_000, 1001),
        ("fps = 23.976", 24_000, 1001),
        ("fps = 25.0", 25, 1),
    ] {
        let c =
            parse(&format!("[output]\n{text}\n"), &[]).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            (c.profile.rate.num, c.profile.rate.den),
            (num, den),
            "{text}"
        );
    }
    for bad in ["fps = 0", "fps = -25", "fps = \"fast\"", "fps = 25.5"] {
        let e = parse(&format!("[output]\n{bad}\n"), &[])
            .expect_err(bad)
            .to_string();
        assert!(e.contains("output.fps") || e.contains("fps"), "{bad}: {e}");
    }
}

#[test]
fn the_ingest_section_is_optional_and_checked() {
    let c = parse("", &[]).expect("valid");
    assert!(c.ingest.is_none());
    let c = parse(
        "[ingest]\nlisten = \"0.0.0.0:1935\"\nmax_pending = 16\n",
        &[],
    )
    .expect("valid");
    let i = c.ingest.expect("ingest");
    assert_eq!(i.listen.port(), 1935);
    assert_eq!(i.max_pending, 16);
    assert_eq!(i.app, "live");
    let e = parse(
        "[ingest]\nlisten = \"0.0.0.0:1935\"\nmax_pending = 0\n",
        &[],
    )
    .expect_err("refused");
    assert!(e.to_string().contains("max_pending"), "{e}");
    assert!(parse("[ingest]\nlisten = \"0.0.0.0:1935\"\nkey = \"x\"\n", &[]).is_err());
}

#[test]
fn live_sources_get_their_settings_and_a_secret_never_shows_in_an_error() {
    let c = parse(
        "[live]\njitter_ms = 300\n\n[[live_source]]\nurl = \"rtsp://cam1/s\"\n[live_source.settings]\nhold_ms = 2000\n[live_source.settings.rtsp]\nusername = \"op\"\npassword = \"pw-9f8e7d\"\ntransport = \"udp\"\n",
        &[],
    )
    .expect("valid");
    assert_eq!(c.live.defaults.jitter_ms, 300);
    let cam = c.live.feeds.get("rtsp://cam1/s").expect("camera settings");
    assert_eq!(cam.hold_ms, 2000);
    assert_eq!(cam.rtsp.username.as_deref(), Some("op"));
    assert_eq!(c.engine_config().live.feeds.len(), 1);
    let e = parse(
        "[[live_source]]\nurl = \"rtsp://cam1/s\"\n[live_source.settings.rtsp]\npassword = \"pw-9f8e7d\"\n",
        &[],
    )
    .expect_err("password without user");
    assert!(
        e.to_string().contains("live_source") && !e.to_string().contains("pw-9f8e7d"),
        "{e}"
    );
    assert!(parse("[live]\nhold = 1\n", &[]).is_err());
}

#[test]
fn feedback_section_sets_the_public_stream_and_its_viewer_count() {
    let c = parse("", &[]).expect("valid");
    assert_eq!(c.feedback, crate::feedback::FeedbackOptions::default());
    assert!(c.feedback.public_hls);
    assert_eq!(c.feedback.sessions.idle, Duration::from_secs(30));
    let c = parse(
        "[feedback]\npublic_hls = false\nviewer_idle_s = 45\nsample_s = 5\n",
        &[],
    )
    .expect("valid");
    assert!(!c.feedback.public_hls);
    assert_eq!(c.feedback.sessions.idle, Duration::from_secs(45));
    assert_eq!(c.feedback.sample_every, Duration::from_secs(5));
    let c = parse(
        "[[feedback.poller]]\nname = \"bili-1\"\nchannel = 3\nurl = \"https://stats.example.cn/room?id=9\"\nevery_s = 30\nfields = { viewers = \"/data/online\", likes = \"/data/like\" }\n",
        &[],
    )
    .expect("valid");
    let p = &c.feedback.pollers[0];
    assert_eq!(
        (p.name.as_str(), p.channel_id, p.every),
        ("bili-1", 3, Duration::from_secs(30))
    );
    assert_eq!(p.fields.len(), 2);
    for (text, want) in [
        (
            "[feedback]\nviewer_idle_s = 1\n",
            "channel.toml:2: feedback.viewer_idle_s",
        ),
        (
            "\n[feedback]\nsample_s = 0\n",
            "channel.toml:3: feedback.sample_s",
        ),
        ("[feedback]\npublic = true\n", "channel.toml:2"),
        (
            "[[feedback.poller]]\nname = \"b\"\nchannel = 1\nurl = \"ftp://x/s?key=secret\"\nfields = { viewers = \"/a\" }\n",
            "channel.toml:4: feedback.poller[0].url",
        ),
        (
            "[[feedback.poller]]\nname = \"b\"\nchannel = 1\nurl = \"https://x/s\"\nfields = { online = \"/a\" }\n",
            "channel.toml:5: feedback.poller[0].fields",
        ),
        (
            "[[feedback.poller]]\nname = \"b\"\nchannel = 1\nurl = \"https://x/s\"\nevery_s = 1\nfields = { viewers = \"/a\" }\n",
            "channel.toml:5: feedback.poller[0].every_s",
        ),
    ] {
        let e = parse(text, &[]).expect_err(text).to_string();
        assert!(e.starts_with(want), "{text:?} → {e}");
    }
}

#[test]
fn a_sqlite_database_in_the_config_lives_beside_the_config_file() {
    let at = |text: &str, env: &[(&str, &str)]| {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ChannelConfig::parse(Path::new("/etc/kepu/channel.toml"), text, &env)
            .expect("valid")
            .server
            .database
    };
    assert_eq!(at("", &[]), "/etc/kepu/kepu.db");
    assert_eq!(
        at("[server]\ndatabase = \"data/air.db\"\n", &[]),
        "/etc/kepu/data/air.db"
    );
    assert_eq!(
        at("[server]\ndatabase = \"/srv/kepu.db\"\n", &[]),
        "/srv/kepu.db"
    );
    assert_eq!(
        at("[server]\ndatabase = \"postgres://u@db/kepu\"\n", &[]),
        "postgres://u@db/kepu"
    );
    assert_eq!(
        at("[server]\ndatabase = \"sqlite::memory:\"\n", &[]),
        "sqlite::memory:"
    );
    // The environment's value is taken as given (relative to where the command runs).
    assert_eq!(at("", &[("KEPU_DATABASE_URL", "here.db")]), "here.db");
}

#[test]
fn uploads_have_a_directory_and_a_quota() {
    let c = parse("", &[]).expect("valid");
    assert!(c.server.upload_dir.is_absolute() && c.server.upload_dir.ends_with("uploads"));
    assert_eq!(c.server.unit_quota_bytes, 200 << 30);
    let c = parse(
        "[server]\nupload_dir = \"/srv/videos\"\nunit_quota_gib = 50\n",
        &[],
    )
    .expect("valid");
    assert_eq!(c.server.upload_dir, Path::new("/srv/videos"));
    assert_eq!(c.server.unit_quota_bytes, 50 << 30);
    let e = parse("[server]\nunit_quota_gib = 0\n", &[])
        .expect_err("zero quota")
        .to_string();
    assert!(
        e.starts_with("channel.toml:2: server.unit_quota_gib"),
        "{e}"
    );
}

#[test]
fn trusted_proxies_are_addresses_or_networks_and_a_bad_one_is_named() {
    assert!(
        parse("", &[])
            .expect("valid")
            .server
            .trusted_proxies
            .is_empty()
    );
    let c = parse(
        "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]\n",
        &[],
    )
    .expect("valid");
    let nets: Vec<String> = c
        .server
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
    let e = parse(
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"nginx\"]\n",
        &[],
    )
    .expect_err("a name is not an address")
    .to_string();
    assert!(
        e.starts_with("channel.toml:2: server.trusted_proxies") && e.contains("`nginx`"),
        "{e}"
    );
}

#[test]
fn the_state_directory_is_next_to_the_config_in_systemds_or_set() {
    let c = parse("", &[]).expect("valid");
    assert!(c.server.state_dir.is_absolute() && c.server.state_dir.ends_with("state"));
    // Under systemd's StateDirectory= (the config's directory is read-only there).
    let c = parse("", &[("STATE_DIRECTORY", "/var/lib/kepu-playout")]).expect("valid");
    assert_eq!(c.server.state_dir, Path::new("/var/lib/kepu-playout/state"));
    // So are the uploads and the preview: the shipped unit starts without setting them.
    assert_eq!(
        c.server.upload_dir,
        Path::new("/var/lib/kepu-playout/uploads")
    );
    assert_eq!(
        c.server.preview_dir.as_deref(),
        Some(Path::new("/var/lib/kepu-playout/preview"))
    );
    let c = parse(
        "[server]\nstate_dir = \"/srv/kepu/state\"\n",
        &[("STATE_DIRECTORY", "/var/lib/kepu-playout")],
    )
    .expect("valid");
    assert_eq!(c.server.state_dir, Path::new("/srv/kepu/state"));
}

#[test]
fn recording_has_a_directory_a_quota_and_a_segment_length() {
    let c = parse("", &[]).expect("valid");
    assert!(c.recording.is_none(), "not recorded unless configured");
    let c = parse("[recording]\ndir = \"/srv/rec\"\n", &[]).expect("valid");
    let r = c.recording.expect("recording");
    assert_eq!(r.dir, Path::new("/srv/rec"));
    assert_eq!(r.quota_bytes, 200 << 30);
    assert_eq!(r.segment, Duration::from_secs(600));
    let c = parse(
        "[recording]\ndir = \"rec\"\nquota = \"2 TiB\"\nsegment = \"5 min\"\n",
        &[],
    )
    .expect("valid");
    let r = c.recording.expect("recording");
    assert!(r.dir.is_absolute() && r.dir.ends_with("rec"), "{:?}", r.dir);
    assert_eq!(r.quota_bytes, 2 << 40);
    assert_eq!(r.segment, Duration::from_secs(300));
    let e = parse("[recording]\ndir = \"rec\"\nquota = \"lots\"\n", &[])
        .expect_err("bad quota")
        .to_string();
    assert!(e.starts_with("channel.toml:3: recording.quota"), "{e}");
    let e = parse("[recording]\ndir = \"rec\"\nsegment = 2\n", &[])
        .expect_err("short segment")
        .to_string();
    assert!(e.starts_with("channel.toml:3: recording.segment"), "{e}");
}
