// SPDX-License-Identifier: GPL-2.0
/*
 * pcm_check: guest-side checks of a playback device that aplay cannot script.
 *
 *   pcm_check DEVICE pause   plays a 440 Hz tone, pauses 1 s mid-stream and checks that the
 *                            position does not move while paused and moves again after
 *   pcm_check DEVICE refuse  asks for parameters the card does not support and checks that
 *                            each is refused: 48000 Hz, one channel, U8 samples, and a period
 *                            larger than the buffer
 *
 * Prints a line per check, "0 NAME" if it passed or "1 NAME WHY" if not, which audio.sh
 * reports as KTAP results. Built on the host by scripts/mkinitramfs.sh against libasound,
 * which the initramfs carries for aplay.
 */

#include <alsa/asoundlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RATE 44100
#define PERIOD 1024
#define BUFFER 4096

static void result(int ok, const char *name, const char *why)
{
	if (ok)
		printf("0 %s\n", name);
	else
		printf("1 %s %s\n", name, why);
	fflush(stdout);
}

static int set_params(snd_pcm_t *pcm, unsigned int rate, unsigned int channels,
		      snd_pcm_format_t format, snd_pcm_uframes_t period,
		      snd_pcm_uframes_t buffer)
{
	snd_pcm_hw_params_t *params;
	int err;

	snd_pcm_hw_params_alloca(&params);
	err = snd_pcm_hw_params_any(pcm, params);
	if (!err)
		err = snd_pcm_hw_params_set_access(pcm, params,
						   SND_PCM_ACCESS_RW_INTERLEAVED);
	if (!err)
		err = snd_pcm_hw_params_set_format(pcm, params, format);
	if (!err)
		err = snd_pcm_hw_params_set_channels(pcm, params, channels);
	if (!err)
		err = snd_pcm_hw_params_set_rate(pcm, params, rate, 0);
	if (!err)
		err = snd_pcm_hw_params_set_buffer_size(pcm, params, buffer);
	if (!err)
		err = snd_pcm_hw_params_set_period_size(pcm, params, period, 0);
	if (!err)
		err = snd_pcm_hw_params(pcm, params);
	return err;
}

static void refuse(const char *device)
{
	static const struct {
		const char *name;
		unsigned int rate, channels;
		snd_pcm_format_t format;
		snd_pcm_uframes_t period, buffer;
	} cases[] = {
		{ "pcm_refuses_48000_hz", 48000, 2, SND_PCM_FORMAT_S16_LE, PERIOD, BUFFER },
		{ "pcm_refuses_one_channel", RATE, 1, SND_PCM_FORMAT_S16_LE, PERIOD, BUFFER },
		{ "pcm_refuses_u8_samples", RATE, 2, SND_PCM_FORMAT_U8, PERIOD, BUFFER },
		{ "pcm_refuses_period_over_buffer", RATE, 2, SND_PCM_FORMAT_S16_LE, 8192, 4096 },
		{ "pcm_accepts_supported_parameters", RATE, 2, SND_PCM_FORMAT_S16_LE, PERIOD, BUFFER },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snd_pcm_t *pcm;
		char why[128];
		int err, expect_ok = i == sizeof(cases) / sizeof(cases[0]) - 1;

		if (snd_pcm_open(&pcm, device, SND_PCM_STREAM_PLAYBACK, 0) < 0) {
			result(0, cases[i].name, "cannot open the device");
			continue;
		}
		err = set_params(pcm, cases[i].rate, cases[i].channels, cases[i].format,
				 cases[i].period, cases[i].buffer);
		snprintf(why, sizeof(why), "hw_params returned %d (%s)", err, snd_strerror(err));
		result(expect_ok ? err == 0 : err < 0, cases[i].name, why);
		snd_pcm_close(pcm);
	}
}

static snd_pcm_sframes_t played(snd_pcm_t *pcm)
{
	snd_pcm_status_t *status;

	snd_pcm_status_alloca(&status);
	snd_pcm_status(pcm, status);
	return snd_pcm_status_get_avail(status);
}

static void pause_resume(const char *device)
{
	static short frames[RATE / 2][2];
	snd_pcm_sframes_t before, during, after;
	snd_pcm_t *pcm;
	char why[160];
	int i, err;

	for (i = 0; i < RATE / 2; i++)
		frames[i][0] = frames[i][1] = 12000 * sin(2 * M_PI * 440 * i / RATE);

	if (snd_pcm_open(&pcm, device, SND_PCM_STREAM_PLAYBACK, 0) < 0 ||
	    set_params(pcm, RATE, 2, SND_PCM_FORMAT_S16_LE, PERIOD, BUFFER) < 0) {
		result(0, "pcm_pause_and_resume", "cannot open and set up the device");
		return;
	}
	for (i = 0; i < 4; i++)
		snd_pcm_writei(pcm, frames, RATE / 2);

	/* The buffer is full and playing: pause, wait, and see that nothing was consumed. */
	err = snd_pcm_pause(pcm, 1);
	before = played(pcm);
	sleep(1);
	during = played(pcm);
	snd_pcm_pause(pcm, 0);
	usleep(300000);
	after = played(pcm);
	snprintf(why, sizeof(why),
		 "pause returned %d; free frames %ld when paused, %ld a second later, %ld after resuming",
		 err, (long)before, (long)during, (long)after);
	result(err == 0 && during == before && after > during, "pcm_pause_and_resume", why);

	for (i = 0; i < 2; i++)
		snd_pcm_writei(pcm, frames, RATE / 2);
	err = snd_pcm_drain(pcm);
	snprintf(why, sizeof(why), "drain returned %d", err);
	result(err == 0, "pcm_plays_on_after_resume", why);
	snd_pcm_close(pcm);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pcm_check DEVICE pause|refuse\n");
		return 2;
	}
	if (!strcmp(argv[2], "pause"))
		pause_resume(argv[1]);
	else if (!strcmp(argv[2], "refuse"))
		refuse(argv[1]);
	else
		return 2;
	return 0;
}
