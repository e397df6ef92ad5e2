from telephony.ami.frames import FrameReader, encode, iter_messages, parse_block


def test_split_reads_reassemble_into_whole_messages():
    stream = encode([("Event", "Newchannel"), ("CallerIDName", "José Pérez")]) + encode(
        [("Event", "Hangup"), ("Cause", "16")])
    reader = FrameReader()
    blocks = []
    for i in range(len(stream)):  # one byte at a time, splitting the UTF-8 "é" too
        blocks.extend(reader.feed(stream[i:i + 1]))
    messages = [parse_block(block)[0] for block in blocks]
    assert messages == [{"Event": "Newchannel", "CallerIDName": "José Pérez"},
                        {"Event": "Hangup", "Cause": "16"}]


def test_non_utf8_values_fall_back_to_cp1252_instead_of_vanishing():
    headers, _ = parse_block(b"Event: Newchannel\r\nCallerIDName: P\xe9rez")
    assert headers["CallerIDName"] == "Pérez"


def test_empty_values_and_repeated_keys_are_kept():
    headers, repeated = parse_block(
        b"Event: VarSet\r\nVariable: X\r\nValue: \r\nChanVariable: A=1\r\nChanVariable: B=2")
    assert headers["Value"] == ""
    assert repeated["ChanVariable"] == ["A=1", "B=2"]


def test_lines_without_colon_are_skipped():
    headers, _ = parse_block(b"garbage line\r\nEvent: Ping")
    assert headers == {"Event": "Ping"}


def test_an_oversized_block_is_discarded_and_the_next_one_survives():
    reader = FrameReader(max_bytes=1024)
    huge = b"Event: Newchannel\r\nCallerIDName: " + b"x" * (1024 * 1024)
    blocks = list(reader.feed(huge[:600_000]))
    blocks += list(reader.feed(huge[600_000:] + b"\r\n\r\nEvent: Sentinel\r\n\r\n"))
    assert [parse_block(b)[0] for b in blocks] == [{"Event": "Sentinel"}]
    assert reader.oversized == 1


def test_recorded_stream_with_banner_parses():
    data = (b"Asterisk Call Manager/9.0.0\r\nResponse: Success\r\nMessage: Authentication accepted"
            b"\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    assert [m.get("Response") or m.get("Event") for m in iter_messages(data)] == [
        "Success", "FullyBooted"]
