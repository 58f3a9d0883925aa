// SPDX-License-Identifier: GPL-2.0
/*
 * Joins the IPv4 multicast group GROUP on the interface whose address is LOCAL and stays a
 * member for SECONDS seconds, or until killed: the kernel meanwhile asks the interface's
 * driver to receive the group's frames (its multicast list). busybox's ip has no maddr.
 *
 * Usage: mcjoin GROUP LOCAL SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ip_mreq request;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: mcjoin GROUP LOCAL SECONDS\n");
		return 2;
	}
	if (!inet_aton(argv[1], &request.imr_multiaddr) ||
	    !inet_aton(argv[2], &request.imr_interface)) {
		fprintf(stderr, "mcjoin: bad address\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("mcjoin: socket");
		return 1;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request))) {
		perror("mcjoin: IP_ADD_MEMBERSHIP");
		return 1;
	}
	printf("mcjoin: joined %s\n", argv[1]);
	fflush(stdout);
	sleep(atoi(argv[3]));
	return 0;
}
