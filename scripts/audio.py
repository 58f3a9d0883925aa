#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test sounds for the ES1370 sample, and analysis of what QEMU captured.

  audio.py generate DIR        writes tones-RATE.wav (3 s of 440 Hz, then 3 s of 1 kHz) for
                               each supported rate, and melody.wav
  audio.py analyse WAV RATE..  checks the capture: for each rate, in order, a 440 Hz then a
                               1 kHz tone of 3 s, frequency within 1 %, duration within 3 %,
                               no silent run over 5 ms inside; prints the results in KTAP,
                               each line prefixed with "audio-test: "

Pure Python: no numpy on the test machines.
"""

import math
import struct
import sys
import wave

TONES = ((440.0, 3.0), (1000.0, 3.0))
MELODY = (262, 294, 330, 349, 392, 440, 494, 523, 494, 440, 392, 349, 330, 294, 262)
AMPLITUDE = 12000


def write_wav(path, rate, samples):
    with wave.open(path, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for s in samples:
            frames += struct.pack('<hh', s, s)
        w.writeframes(bytes(frames))


def tone(rate, frequency, seconds, phase=0.0):
    n = int(rate * seconds)
    return [int(AMPLITUDE * math.sin(phase + 2 * math.pi * frequency * i / rate)) for i in range(n)]


def generate(directory):
    for rate in (44100, 22050, 11025):
        samples = []
        for frequency, seconds in TONES:
            samples += tone(rate, frequency, seconds)
        write_wav(f'{directory}/tones-{rate}.wav', rate, samples)
    # Files the card must refuse: one channel, and 8-bit samples.
    with wave.open(f'{directory}/mono.wav', 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b''.join(struct.pack('<h', v) for v in tone(44100, 440.0, 0.2)))
    with wave.open(f'{directory}/u8.wav', 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(1)
        w.setframerate(44100)
        w.writeframes(bytes(128 + v // 256 for v in tone(44100, 440.0, 0.2) for _ in range(2)))
    # Each note starts where the previous one ended, so that the melody has no clicks.
    samples, phase = [], 0.0
    for note in MELODY:
        samples += tone(22050, note, 0.3, phase)
        phase += 2 * math.pi * note * int(22050 * 0.3) / 22050
    write_wav(f'{directory}/melody.wav', 22050, samples)


def read_capture(path):
    """Returns (rate, left channel samples). Reads to the end of the file even if QEMU did not
    get to fix up the header sizes."""
    with open(path, 'rb') as f:
        data = f.read()
    channels, rate, bits = struct.unpack('<HIxxxxxxH', data[22:36])
    offset = data.find(b'data') + 8
    frame = channels * bits // 8
    count = (len(data) - offset) // frame
    left = struct.unpack_from(f'<{count * channels}h', data, offset)[::channels]
    return rate, left


def bursts(samples, rate, quiet=200, gap_seconds=0.2):
    """Runs of sound separated by at least gap_seconds of silence: [(start, end)]."""
    out, start, last_loud = [], None, None
    gap = int(gap_seconds * rate)
    for i, s in enumerate(samples):
        if abs(s) > quiet:
            if start is None:
                start = i
            last_loud = i
        elif start is not None and i - last_loud > gap:
            out.append((start, last_loud + 1))
            start = None
    if start is not None:
        out.append((start, last_loud + 1))
    return out


def crossings(samples, start, end):
    """Times (in samples, interpolated) at which the signal rises through zero."""
    out = []
    for i in range(start + 1, end):
        a, b = samples[i - 1], samples[i]
        if a < 0 <= b:
            out.append(i - 1 + (-a) / (b - a))
    return out


def longest_silence(samples, start, end, quiet=200):
    longest = run = 0
    for i in range(start, end):
        if abs(samples[i]) <= quiet:
            run += 1
            longest = max(longest, run)
        else:
            run = 0
    return longest


def tone_runs(samples, rate):
    """Splits the capture into runs of one tone: [(frequency, start, end)], in samples.

    QEMU's wav back end records only while the DAC runs, so files follow each other without
    silence: the runs are told apart by their frequency. Runs of one frequency separated by a
    short disturbance (a gap, a click) are merged, so that the gap is found and reported."""
    times = crossings(samples, 0, len(samples))
    runs = []
    for a, b in zip(times, times[1:]):
        period = b - a
        kind = next((f for f, _ in TONES if abs(period - rate / f) <= rate / f * 0.05), None)
        if kind is None:
            continue
        if runs and runs[-1][0] == kind and a - runs[-1][2] < rate * 0.5:
            runs[-1][2] = b
        else:
            runs.append([kind, a, b])
    return [tuple(r) for r in runs if r[2] - r[1] > rate * 0.1]


def analyse(path, rates):
    rate, samples = read_capture(path)
    runs = tone_runs(samples, rate)
    expected = [f for _ in rates for f, _ in TONES]
    results = []
    print('audio-test: KTAP version 1')
    # One check of the order, then three of each tone.
    print(f'audio-test: 1..{1 + 3 * len(expected)}')

    def check(name, ok, why):
        results.append(ok)
        number = len(results)
        print(f'audio-test: {"ok" if ok else "not ok"} {number} {name}'
              + ('' if ok else f' # {why}'))

    check('capture_has_every_tone_in_order', [r[0] for r in runs][:len(expected)] == expected,
          f'tones heard: {[int(r[0]) for r in runs]}')
    for index, (frequency, start, end) in enumerate(runs[:len(expected)]):
        played = rates[index // len(TONES)]
        seconds = dict(TONES)[frequency]
        inner = crossings(samples, int(start), int(end) + 1)
        measured = (len(inner) - 1) / ((inner[-1] - inner[0]) / rate) if len(inner) > 2 else 0
        # The run spans whole cycles from its first to its last rising zero crossing.
        duration = (end - start) / rate + 1 / frequency
        name = f'tone_{int(frequency)}_hz_at_{played}_hz'
        check(f'{name}_frequency', abs(measured - frequency) <= frequency * 0.01,
              f'measured {measured:.1f} Hz')
        check(f'{name}_duration', abs(duration - seconds) <= seconds * 0.03,
              f'lasted {duration:.3f} s')
        silence = longest_silence(samples, int(start), int(end)) / rate
        check(f'{name}_has_no_gap', silence <= 0.005,
              f'a silent run of {silence * 1000:.1f} ms inside the tone')
    return all(results)


def main():
    command = sys.argv[1]
    if command == 'generate':
        generate(sys.argv[2])
    elif command == 'analyse':
        sys.exit(0 if analyse(sys.argv[2], [int(r) for r in sys.argv[3:]]) else 1)
    else:
        sys.exit(f'audio.py: unknown command {command}')


if __name__ == '__main__':
    main()
