#!/usr/bin/python3
"""Peer for bench/phase.ts: torchaudio's Fast Griffin-Lim on the same files.

Usage (called by bench/phase.ts; run with Debian's /usr/bin/python3, which has
python3-torch and python3-torchaudio):

    /usr/bin/python3 bench/peers/torchaudio_gla.py --out DIR --iters 1,8,32 \
        [--repeats 2] [--seed 0] IN1.wav IN2.wav ...

Each input is a mono float32 WAV at 44.1 kHz (written by bench/phase.ts). For
each file and iteration count the script computes the target magnitude with
torchaudio.transforms.Spectrogram (n_fft 2048, hop 256, periodic Hann, power 1,
centred frames), rebuilds the signal with torchaudio.transforms.GriffinLim
(n_fft 2048, hop 256, Hann, momentum 0.99, rand_init True, power 1, length =
input length) on one thread (torch.set_num_threads(1)), and writes the result
to DIR/<stem>.it<N>.wav as float32. Only the GriffinLim call is timed (the
best of --repeats runs, after one untimed warm-up), as wall time and as
process CPU time. The spectral convergence is
computed by bench/phase.ts from the written WAV, the same way as for every
other method. Prints one JSON object on stdout:
{"torch": "...", "torchaudio": "...", "results": [{"file", "iterations", "seconds", "cpuSeconds", "output"}]}
where "seconds" is wall time and "cpuSeconds" the process CPU time of the same
(fastest) kind of run.
"""
import argparse
import json
import os
import struct
import sys
import time

import torch
import torchaudio

N_FFT = 2048
HOP = 256


def write_float_wav(path: str, samples, rate: int) -> None:
    """Write mono IEEE float32 WAV (fmt 18 bytes + fact chunk), atomically.

    Written by hand because torchaudio's sox backend clips float output to [-1, 1].
    """
    data = samples.astype("<f4").tobytes()
    n = samples.shape[0]
    fmt = struct.pack("<HHIIHHH", 3, 1, rate, rate * 4, 4, 32, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"fact" + struct.pack("<II", 4, n) + b"data" + struct.pack("<I", len(data)) + data
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the rebuilt WAVs")
    ap.add_argument("--iters", default="1,8,32", help="comma-separated iteration counts")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per case; the fastest counts")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed before each run")
    ap.add_argument("inputs", nargs="+", help="mono float32 WAV files")
    args = ap.parse_args()
    iters = [int(v) for v in args.iters.split(",") if v.strip()]
    if not iters or any(i < 1 for i in iters):
        print("torchaudio_gla: --iters needs positive whole numbers, e.g. 1,8,32", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    spec_fn = torchaudio.transforms.Spectrogram(n_fft=N_FFT, hop_length=HOP, power=1.0)
    results = []
    warmed = False
    for path in args.inputs:
        wav, sr = torchaudio.load(path)
        if sr != 44100 or wav.shape[0] != 1:
            print(f"torchaudio_gla: {path}: expected mono 44100 Hz, got {wav.shape[0]} channels at {sr} Hz", file=sys.stderr)
            return 2
        x = wav[0]
        mag = spec_fn(x)
        stem = os.path.splitext(os.path.basename(path))[0]
        for n in iters:
            gl = torchaudio.transforms.GriffinLim(
                n_fft=N_FFT, hop_length=HOP, n_iter=n, power=1.0, momentum=0.99, rand_init=True, length=x.shape[0]
            )
            if not warmed:
                torch.manual_seed(args.seed)
                gl(mag)
                warmed = True
            best = float("inf")
            best_cpu = float("inf")
            y = None
            for _ in range(max(1, args.repeats)):
                torch.manual_seed(args.seed)
                t0 = time.perf_counter()
                c0 = time.process_time()
                y = gl(mag)
                best_cpu = min(best_cpu, time.process_time() - c0)
                best = min(best, time.perf_counter() - t0)
            out = os.path.join(args.out, f"{stem}.it{n}.wav")
            write_float_wav(out, y.to(torch.float32).numpy(), 44100)
            results.append({"file": path, "iterations": n, "seconds": best, "cpuSeconds": best_cpu, "output": out})
    json.dump({"torch": torch.__version__, "torchaudio": torchaudio.__version__, "results": results}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
