#!/usr/bin/python3
"""Peer for bench/render.ts: the same interpolate_two render done with PyTorch
and torchaudio (Debian python3-torch / python3-torchaudio), one thread.

Usage: /usr/bin/python3 bench/peers/torch_render.py MODEL_DIR A.wav START_A B.wav START_B DURATION ITERS [REPEATS]

Reads our model folder (config.json, weights.json, weights.bin: float32
little-endian, Dense weights [out, in]), analyses both files with torch.stft
(periodic Hann, centred, zero padding: the same STFT as ours), applies the
model's feature scaling, encodes (mu), mixes with the linear curve 0:1,1:0
(z = a z_A + (1 - a) z_B), decodes, undoes the scaling and rebuilds the phase
with torchaudio.transforms.GriffinLim (momentum 0.99, random start). Prints one
JSON object with seconds per stage (best of REPEATS after a warm-up), the
output length in samples and the torch versions.
"""
import json
import os
import sys
import time
import wave

import numpy as np
import torch
import torchaudio


def read_wav_mono(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: the peer reads 16-bit PCM only")
        ch = w.getnchannels()
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        data = data.reshape(-1, ch).mean(axis=1)
    return torch.from_numpy(data.copy()), rate


def load_model(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    manifest = json.load(open(os.path.join(model_dir, "weights.json")))
    raw = np.fromfile(os.path.join(model_dir, "weights.bin"), dtype="<f4")
    w = {}
    for t in manifest["weights"]:
        off = t["offset"] // 4
        w[t["name"]] = torch.from_numpy(raw[off: off + t["length"]].reshape(t["shape"]).copy())
    return cfg, w


def dense(x, w, b, relu):
    y = torch.addmm(b.reshape(1, -1), x, w.t())
    return torch.relu(y) if relu else y


def main():
    model_dir, fa, sa, fb, sb, dur, iters = sys.argv[1:8]
    repeats = int(sys.argv[8]) if len(sys.argv) > 8 else 3
    torch.set_num_threads(1)
    sa, sb, dur, iters = float(sa), float(sb), float(dur), int(iters)
    best = {}

    def run():
        t = {}
        t0 = time.perf_counter()
        cfg, w = load_model(model_dir)
        tr = cfg["features"]["transform"]
        n_fft, hop, sr = tr["nFft"], tr["hop"], tr["sampleRate"]
        log = cfg["features"]["scaling"] == "log"
        hidden = cfg["network"]["hidden"]
        window = torch.hann_window(n_fft, periodic=True)
        length = round(dur * sr)
        frames = 1 + length // hop
        feats = []
        for path, start in ((fa, sa), (fb, sb)):
            x, rate = read_wav_mono(path)
            if rate != sr:
                raise SystemExit(f"{path}: {rate} Hz, the model needs {sr} Hz")
            mag = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True).abs().t()
            first = round(round(start * sr) / hop)
            f = mag[first: first + frames]
            feats.append(torch.log1p(f) if log else f)
        t["load"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        mus = []
        with torch.no_grad():
            for f in feats:
                h = f
                for i in range(len(hidden)):
                    h = dense(h, w[f"encoder/dense_{i}/weight"], w[f"encoder/dense_{i}/bias"], True)
                mus.append(dense(h, w["encoder/z_mean/weight"], w["encoder/z_mean/bias"], False))
        t["encode"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        with torch.no_grad():
            a = torch.linspace(1.0, 0.0, frames).reshape(-1, 1)
            h = a * mus[0] + (1 - a) * mus[1]
            for i in range(len(hidden)):
                h = dense(h, w[f"decoder/dense_{i}/weight"], w[f"decoder/dense_{i}/bias"], True)
            out = dense(h, w["decoder/output/weight"], w["decoder/output/bias"], cfg["network"]["outputActivation"] == "relu")
            mag = torch.expm1(out.clamp(min=0)) if log else out.clamp(min=0)
        t["decode"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        gla = torchaudio.transforms.GriffinLim(n_fft=n_fft, hop_length=hop, power=1.0, n_iter=iters, momentum=0.99, rand_init=True, length=length)
        torch.manual_seed(0)
        y = gla(mag.t().contiguous())
        t["phase"] = time.perf_counter() - t0
        return t, int(y.shape[-1]), sr

    run()  # warm-up
    for _ in range(repeats):
        t, n, sr = run()
        for k, v in t.items():
            best[k] = min(best.get(k, float("inf")), v)
    print(json.dumps({"torch": torch.__version__, "torchaudio": torchaudio.__version__, "timings": best, "samples": n, "sampleRate": sr}))


if __name__ == "__main__":
    main()
