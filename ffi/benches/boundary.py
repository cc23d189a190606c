"""The cost of crossing the boundary, Python side: one message sent by the client and received by
the clinician through the `confidant` package, timed as `ffi/benches/boundary.rs` times the same
calls in Rust (same text, same terms, same store files on key-protected stores, same rounds), and
one boundary crossing alone (`identity_key`).

    python ffi/benches/boundary.py          # after `pip install ./ffi`; BENCH_DIR as in Rust

BENCHMARKS.md ("Bindings") has the method and the numbers.
"""

import os
import statistics
import tempfile
import time

import confidant as C

MESSAGES, ROUNDS, WARM_UP = 1000, 5, 200
TEXT = "See you Thursday at 3pm. Parking is free behind the building; ring the bell marked Lee, 2nd floor..."
EVERY_DAY = [C.Weekday.MONDAY, C.Weekday.TUESDAY, C.Weekday.WEDNESDAY, C.Weekday.THURSDAY, C.Weekday.FRIDAY,
             C.Weekday.SATURDAY, C.Weekday.SUNDAY]


def pair(directory):
    clinician = C.Endpoint.open_with_key(os.path.join(directory, "clinician.db"), bytes([1] * 32),
                                         C.Role.CLINICIAN, "dr-lee")
    client = C.Endpoint.open_with_key(os.path.join(directory, "client.db"), bytes([2] * 32), C.Role.CLIENT, "sam")
    clinician.start_session("sam", client.prekey_bundle())
    terms = C.usual_terms(1, "America/New_York", EVERY_DAY, 0, 24 * 60, "Within a day.", ["Call or text 988"],
                          [C.Category.APPOINTMENT_CONFIRM, C.Category.APPOINTMENT_RESCHEDULE,
                           C.Category.APPOINTMENT_CANCEL, C.Category.APPOINTMENT_REMINDER,
                           C.Category.APPOINTMENT_DIRECTIONS])
    proposed = client.receive("dr-lee", clinician.propose_agreement("sam", terms)).received
    clinician.receive("sam", client.accept_agreement("dr-lee", proposed.id))
    return clinician, client


def main():
    assert len(TEXT) == 100
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as directory:
        clinician, client = pair(directory)

        def message():
            draft = C.Draft(category=C.Category.APPOINTMENT_CONFIRM, text=TEXT)
            clinician.receive("sam", client.send("dr-lee", draft).envelope)

        for _ in range(WARM_UP):
            message()
        rounds = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in range(MESSAGES):
                message()
            rounds.append((time.perf_counter() - start) * 1e6 / MESSAGES)
        crossing = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in range(100_000):
                client.identity_key()
            crossing.append((time.perf_counter() - start) * 1e9 / 100_000)
        print(f"python:        {statistics.median(rounds):.1f} µs per message (send + receive), "
              f"identity_key {statistics.median(crossing):.0f} ns")


if __name__ == "__main__":
    main()
