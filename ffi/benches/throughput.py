"""Whole-endpoint throughput through the Python package: the flow of `benches/endpoint.rs` (the
client's endpoint sends check-ins, the clinician's receives them and seals a delivery receipt
back, the client receives the receipts), one by one and in batches of 100 with `receive_batch`,
both endpoints on SQLite store files in a temporary directory, with the same set-up as
`benches/examples/endpoint_throughput.rs` (the Rust endpoint as the bindings open it), which this
script runs in turn with its own measurement, five times each, for the ratio:

    cargo build --release -p confidant-benches --example endpoint_throughput
    target/ffi-venv/bin/python ffi/benches/throughput.py --rust target/release/examples/endpoint_throughput

(after `bash ffi/run-tests.sh`, which leaves the release package in target/ffi-venv). Without
`--rust`, only the Python numbers. `--smoke` runs a few messages of each kind and checks the flow
(ffi/run-tests.sh runs it so); its times mean nothing. `BENCH_DIR` puts the store files in another
directory. BENCHMARKS.md ("Endpoint throughput") has the method and the numbers.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import confidant as C

TEXT = ("Rough morning, but I used the breathing exercise before the meeting and it helped. "
        "Could we talk about the sleep diary on Thursday?")
HOUR = 3_600_000
EVERY_DAY = [C.Weekday.MONDAY, C.Weekday.TUESDAY, C.Weekday.WEDNESDAY, C.Weekday.THURSDAY, C.Weekday.FRIDAY,
             C.Weekday.SATURDAY, C.Weekday.SUNDAY]
# As in the Rust example: rounds and messages per round, one by one and in batches, and the
# messages sent one by one before the first round.
FULL = dict(one_rounds=25, one_per_round=10, batch_rounds=7, batch=100, warm_up=20)
SMOKE = dict(one_rounds=1, one_per_round=3, batch_rounds=1, batch=5, warm_up=1)


class Flow:
    """Two endpoints on key-protected files in `directory`, agreed with check-ins allowed, their
    lifespans, receipts on, and office hours all day every day."""

    def __init__(self, directory):
        def open_(name, role, local_id):
            return C.Endpoint.open_with_key(os.path.join(directory, name), bytes([7] * 32), role, local_id)

        self.clinician = open_("clinician.db", C.Role.CLINICIAN, "dr-lee")
        self.client = open_("client.db", C.Role.CLIENT, "sam")
        self.clinician.start_session("sam", self.client.prekey_bundle())
        terms = C.usual_terms(1, "America/New_York", EVERY_DAY, 0, 24 * 60, "I reply within one business day.",
                              ["Call or text 988 (Suicide & Crisis Lifeline)"],
                              [C.Category.APPOINTMENT_CONFIRM, C.Category.APPOINTMENT_RESCHEDULE,
                               C.Category.APPOINTMENT_CANCEL, C.Category.CHECK_IN])
        terms.lifespans = [C.CategoryLifespan(category=C.Category.CHECK_IN, duration_ms=24 * HOUR, from_read=True),
                           C.CategoryLifespan(category=C.Category.APPOINTMENT_CONFIRM, duration_ms=2 * HOUR,
                                              from_read=False)]
        terms.receipts_enabled = True
        proposed = self.client.receive("dr-lee", self.clinician.propose_agreement("sam", terms)).received
        accepted = self.clinician.receive("sam", self.client.accept_agreement("dr-lee", proposed.id)).received
        assert isinstance(accepted, C.Received.AGREEMENT_ACCEPTED)
        self.steps = dict(send=0.0, receive=0.0, receipt=0.0)

    def send(self):
        start = time.perf_counter()
        sent = self.client.send("dr-lee", C.Draft(category=C.Category.CHECK_IN, text=TEXT))
        self.steps["send"] += time.perf_counter() - start
        return sent.envelope

    def one(self):
        """One message and its receipt: three transactions."""
        envelope = self.send()
        start = time.perf_counter()
        incoming = self.clinician.receive("sam", envelope)
        self.steps["receive"] += time.perf_counter() - start
        assert isinstance(incoming.received, C.Received.MESSAGE)
        [receipt] = incoming.replies
        start = time.perf_counter()
        back = self.client.receive("dr-lee", receipt)
        self.steps["receipt"] += time.perf_counter() - start
        assert isinstance(back.received, C.Received.RECEIPT)

    def batch(self, n):
        """`n` messages sent one by one, received in one batch, their receipts in another."""
        envelopes = [self.send() for _ in range(n)]
        start = time.perf_counter()
        items = self.clinician.receive_batch("sam", envelopes)
        self.steps["receive"] += time.perf_counter() - start
        receipts = []
        for item in items:
            assert isinstance(item, C.BatchItem.RECEIVED) and isinstance(item.incoming.received, C.Received.MESSAGE)
            receipts.extend(item.incoming.replies)
        assert len(receipts) == n
        start = time.perf_counter()
        back = self.client.receive_batch("dr-lee", receipts)
        self.steps["receipt"] += time.perf_counter() - start
        assert all(isinstance(i, C.BatchItem.RECEIVED) and isinstance(i.incoming.received, C.Received.RECEIPT)
                   for i in back)


def measure(flow, rounds, per_round, round_):
    """Messages per second: of the whole flow (median round), and of each step alone."""
    flow.steps = dict(send=0.0, receive=0.0, receipt=0.0)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        round_()
        times.append(time.perf_counter() - start)
    total = rounds * per_round
    return [per_round / statistics.median(times)] + [total / flow.steps[s] for s in ("send", "receive", "receipt")]


def python_run(sizes):
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as directory:
        flow = Flow(directory)
        for _ in range(sizes["warm_up"]):
            flow.one()

        def one_round():
            for _ in range(sizes["one_per_round"]):
                flow.one()

        return {
            "one_by_one": measure(flow, sizes["one_rounds"], sizes["one_per_round"], one_round),
            "batch_100": measure(flow, sizes["batch_rounds"], sizes["batch"], lambda: flow.batch(sizes["batch"])),
        }


def rust_run(binary):
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: [float(x) for x in line.split()[1:]] for line in out.splitlines() if line.strip()}


def row(label, numbers):
    total, send, receive, receipt = numbers
    return f"{label:<8} {total:8.0f} msg/s   (send {send:6.0f}/s, receive {receive:6.0f}/s, receipt {receipt:6.0f}/s)"


PAIRS = 5


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rust", help="the built endpoint_throughput example, run in turn with this script's rounds")
    parser.add_argument("--smoke", action="store_true", help="a few messages, to check the flow")
    args = parser.parse_args()
    if args.smoke:
        results = python_run(SMOKE)
        assert all(value > 0 for numbers in results.values() for value in numbers), results
        print("throughput smoke: the flow runs through the package (one by one and in batches)")
        return
    # Paired, as benches/endpoint.rs pairs the endpoint with its floor: the Rust example and this
    # script's measurement take turns (the Rust one first in every other pair), each pair on new
    # store files, so that a burst of load or of slow syncs hits both sides alike; a ratio is the
    # median of the per-pair ratios.
    runs = {"python": [], "rust": []}
    for index in range(PAIRS if args.rust else 1):
        order = ("rust", "python") if index % 2 == 0 else ("python", "rust")
        for side in order:
            if side == "python":
                runs["python"].append(python_run(FULL))
            elif args.rust:
                runs["rust"].append(rust_run(args.rust))
    for name, label in (("one_by_one", "one by one (25 rounds of 10)"), ("batch_100", "batches of 100 (7 rounds)")):
        print(label)
        for side, results in runs.items():
            if results:
                totals = sorted(r[name][0] for r in results)
                median = [statistics.median(r[name][i] for r in results) for i in range(4)]
                print(row(side, median) + f"   (medians of {len(results)}; msg/s from {totals[0]:.0f} to {totals[-1]:.0f})")
        if runs["rust"]:
            ratios = sorted(p[name][0] / r[name][0] for p, r in zip(runs["python"], runs["rust"]))
            print(f"python / rust: {statistics.median(ratios):.2f}x (median of {len(ratios)} pairs; "
                  f"from {ratios[0]:.2f}x to {ratios[-1]:.2f}x)")


if __name__ == "__main__":
    main()
