#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the ES1370 audio tests (boot mode "audio"): plays the test tones through
# rust_irqsync_es1370 at every supported rate, with a second of silence between files, and
# checks what the guest can see. The host analyses the sound QEMU captured.

result() {
	if [ "$1" -eq 0 ]; then
		echo "irqsync-test: ok $2"
	else
		echo "irqsync-test: not ok $2 # $3"
	fi
}

interrupts() {
	grep rust_irqsync_es1370 /proc/interrupts | awk '{ print $2 + $3 }'
}

insmod /modules/rust_irqsync_es1370.ko && grep -q "ES1370 (Rust)" /proc/asound/cards &&
	[ -e /dev/snd/pcmC0D0p ]
result $? es1370_card_registered "no ES1370 card or PCM device"

sleep 1
for rate in 44100 22050 11025; do
	before=$(interrupts)
	aplay -q -D hw:0,0 --period-size=1024 --buffer-size=4096 "/sounds/tones-$rate.wav"
	status=$?
	after=$(interrupts)
	# 6 s of sound in periods of 1024 frames; the last, partial period is padded by ALSA.
	expected=$(( (rate * 6 + 1023) / 1024 ))
	got=$((after - before))
	[ $status -eq 0 ] && [ $got -ge $expected ] && [ $got -le $((expected + 4)) ]
	result $? "es1370_plays_at_${rate}_hz" "aplay status $status, $got period interrupts for $expected periods"
	sleep 1
done

rmmod rust_irqsync_es1370 && [ ! -e /dev/snd/pcmC0D0p ]
result $? es1370_unloads "rmmod failed or left the device behind"

insmod /modules/rust_irqsync_es1370.ko || exit 1
sleep 1

# Stop and reopen: a short file twice in a row.
aplay -q -D hw:0,0 /sounds/mono.wav 2>/tmp/err
grep -q "Channels count non available" /tmp/err
result $? es1370_refuses_one_channel "$(cat /tmp/err)"
aplay -q -D hw:0,0 /sounds/u8.wav 2>/tmp/err
grep -q "Sample format non available" /tmp/err
result $? es1370_refuses_8_bit_samples "$(cat /tmp/err)"

# An underrun: aplay is stopped for half a second mid-stream, and recovers.
aplay -D hw:0,0 --period-size=1024 --buffer-size=4096 /sounds/tones-44100.wav 2>/tmp/err &
player=$!
sleep 2
kill -STOP $player
sleep 0.5
kill -CONT $player
wait $player
status=$?
[ $status -eq 0 ] && grep -q "underrun" /tmp/err
result $? es1370_recovers_from_an_underrun "aplay status $status: $(cat /tmp/err)"

# rmmod while playing is refused; the stream plays on and the module unloads afterwards.
aplay -q -D hw:0,0 /sounds/tones-11025.wav &
player=$!
sleep 1
rmmod rust_irqsync_es1370 2>/dev/null
refused=$?
wait $player
status=$?
[ $refused -ne 0 ] && [ $status -eq 0 ] && rmmod rust_irqsync_es1370
result $? es1370_rmmod_refused_while_playing "rmmod status $refused, aplay status $status"

# What aplay cannot script: pause and resume, and parameters the card must refuse.
insmod /modules/rust_irqsync_es1370.ko || exit 1
sleep 1
pcm_check hw:0,0 refuse
pcm_check hw:0,0 pause
rmmod rust_irqsync_es1370
result $? es1370_unloads_after_pause "rmmod failed"
