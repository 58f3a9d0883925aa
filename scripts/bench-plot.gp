# SPDX-License-Identifier: GPL-2.0
#
# Draws the counted rows of `make bench`: for each operation, Rust's instructions over C's as
# a bar from 1 (as many as C), coloured by whether it met its target, which is drawn as a
# black mark. Reads what bench_report.py --data writes.
#
# Usage: gnuplot -c scripts/bench-plot.gp DAT PNG

data = ARG1
bar = 0.35

set terminal pngcairo noenhanced size 1280,720 font 'sans,11'
set output ARG2
set title "irqsync, make bench: Rust / C instructions per operation\n" . \
	"(QEMU -icount: 1 ns = 1 guest instruction; C and Rust in the same boot)"
set ylabel 'Rust / C instructions (1 = as many as C)'
set xlabel 'operation'
set xtics rotate by -30 nomirror
set ytics format '%.2f'
set grid ytics
set key outside right top box
set style fill solid 0.85 border -1
set offsets 0.6, 0.6, 0.015, 0.015

# The bar of row N goes from 1 to its ratio; rows of another verdict are left out (NaN).
ratio(verdict) = column(6) == verdict ? column(4) : NaN

plot 1 with lines dashtype 2 linecolor 'gray40' title 'as many as C', \
	data using 0:(ratio(1)):($0 - bar):($0 + bar):(1):(ratio(1)) \
		with boxxyerror linecolor '#2e8b57' title 'target met', \
	data using 0:(ratio(2)):($0 - bar):($0 + bar):(1):(ratio(2)) \
		with boxxyerror linecolor '#d1495b' title 'target not met', \
	data using 0:(ratio(0)):($0 - bar):($0 + bar):(1):(ratio(0)) \
		with boxxyerror linecolor '#8c8c8c' title 'no target', \
	data using ($0 - bar - 0.08):5:(2 * bar + 0.16):(0) \
		with vectors nohead linewidth 4 linecolor 'black' title 'target (Rust / C at most)', \
	data using 0:($4 >= 1 ? $4 + 0.004 : $4 - 0.004):(sprintf('%.3f', $4)):xticlabels(1) \
		with labels font ',9' notitle
