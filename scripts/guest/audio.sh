#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the ES1370 audio tests (boot mode "audio"): plays the test tones through
# rust_irqsync_es1370 at every supported rate, with a second of silence between files, and
# checks what the guest can see. The host analyses the sound QEMU captured.

. /scripts/ktap.sh

interrupts() {
	grep rust_irqsync_es1370 /proc/interrupts | awk '{ print $2 + $3 }'
}

insmod /modules/rust_irqsync_es1370.ko && grep -q "ES1370 (Rust)" /proc/asound/cards &&
	[ -e /dev/snd/pcmC0D0p ]
result $? es1370_card_registered "no ES1370 card or PCM device"

sleep 1
# irqsync-expect: es1370_plays_at_44100_hz es1370_plays_at_22050_hz es1370_plays_at_11025_hz
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
for check in refuse pause; do
	pcm_check hw:0,0 $check | while read -r status name why; do
		result "$status" "$name" "$why"
	done
done
rmmod rust_irqsync_es1370
result $? es1370_unloads_after_pause "rmmod failed"

# Unbind while playing, as a surprise removal would: the card disconnects under aplay, whose
# writes fail, so aplay ends; the unbind, which waits for the last close of the card, returns;
# the card, its device node and its interrupt handler are gone and the kernel logged nothing
# wrong. Then bind again and play one second. A hang is cut short after 10 s and reported.
running() {
	local state
	state=$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

driver=/sys/bus/pci/drivers/rust_irqsync_es1370
insmod /modules/rust_irqsync_es1370.ko || exit 1
bdf=$(basename "$(ls -d $driver/0000:* | head -n 1)")
sleep 1
echo "irqsync-audio: unbinding $bdf from rust_irqsync_es1370 while playing" > /dev/kmsg
aplay -q -D hw:0,0 --period-size=1024 --buffer-size=4096 /sounds/tones-44100.wav 2>/tmp/err &
player=$!
# Unbind a second into the stream, once it runs.
sleep 1
waited=0
until grep -qs "state: RUNNING" /proc/asound/card0/pcm0p/sub0/status || [ $waited -ge 30 ]; do
	sleep 0.1
	waited=$((waited + 1))
done
grep -qs "state: RUNNING" /proc/asound/card0/pcm0p/sub0/status
played=$?
echo "$bdf" > $driver/unbind &
unbinder=$!
waited=0
while { running $player || running $unbinder; } && [ $waited -lt 100 ]; do
	sleep 0.1
	waited=$((waited + 1))
done
hung=""
if running $player; then
	hung="aplay"
	kill -KILL $player
	sleep 1
fi
if running $unbinder; then
	result 1 es1370_unbind_while_playing "the unbind did not return (hung: $hung)"
	exit 1
fi
wait $player
status=$?
wait $unbinder
unbound=$?
oops=$(dmesg | sed -n '/irqsync-audio: unbinding/,$p' |
	grep -E 'BUG:|WARNING:|Oops|Call Trace:|nobody cared|scheduling while atomic|sleeping function' |
	head -n 1)
[ $played -eq 0 ] && [ -z "$hung" ] && [ $status -ne 0 ] && [ $unbound -eq 0 ] &&
	[ ! -e "$driver/$bdf" ] && [ ! -e /dev/snd/pcmC0D0p ] &&
	! grep -q "ES1370 (Rust)" /proc/asound/cards && ! grep -q rust_irqsync_es1370 /proc/interrupts &&
	[ -z "$oops" ]
result $? es1370_unbind_while_playing \
	"running check $played, hung: ${hung:-none}, aplay status $status, unbind status $unbound, kernel: ${oops:-quiet}, aplay: $(tr '\n' ' ' < /tmp/err)"

: > /tmp/err
echo "$bdf" > $driver/bind && [ -e /dev/snd/pcmC0D0p ] && grep -q "ES1370 (Rust)" /proc/asound/cards
bound=$?
status=1
got=0
if [ $bound -eq 0 ]; then
	sleep 1
	before=$(interrupts)
	aplay -q -D hw:0,0 -d 1 --period-size=1024 --buffer-size=4096 /sounds/tones-44100.wav 2>/tmp/err
	status=$?
	after=$(interrupts)
	got=$((${after:-0} - ${before:-0}))
fi
# One second in periods of 1024 frames, the last one padded.
expected=$(( (44100 + 1023) / 1024 ))
[ $bound -eq 0 ] && [ $status -eq 0 ] && [ $got -ge $expected ] && [ $got -le $((expected + 4)) ] &&
	rmmod rust_irqsync_es1370
result $? es1370_rebind_plays \
	"bind status $bound, aplay status $status, $got period interrupts for $expected periods: $(tr '\n' ' ' < /tmp/err)"

# Bound at power-off: the driver's shutdown stops the DAC (the host finds the line in the log).
insmod /modules/rust_irqsync_es1370.ko
