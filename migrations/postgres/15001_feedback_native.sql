-- 数据反馈: the platforms' own pushes (Bilibili open-platform events, Douyin live
-- callbacks) are one message per like, comment or entry; each message id counted once per
-- channel, so a message delivered twice (Douyin's documented duplicates, a bridge's
-- retry) adds nothing. Rows older than a day are pruned when the channel pushes again.

CREATE TABLE feedback_native_seen (
    channel_id     BIGINT NOT NULL REFERENCES feedback_channels (id),
    msg_id         TEXT   NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel_id, msg_id)
);
CREATE INDEX feedback_native_seen_age ON feedback_native_seen (channel_id, received_at_ms);
