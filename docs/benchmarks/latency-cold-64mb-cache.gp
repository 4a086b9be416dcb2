set terminal pngcairo size 800,420 font "sans,10" noenhanced
set output "latency-cold-64mb-cache.png"
set datafile missing "-"
set key outside right top vertical
set grid ytics
set logscale y
set ylabel "latency, µs"
set xtics nomirror
set style data linespoints
set multiplot layout 1,1 title "Latency percentiles, cold, 64 MiB cache (data 1.7x) (log scale)"
set title "readrandom"
plot "latency-cold-64mb-cache.dat" index 0 using 0:2:xtic(1) title "mvdb" lc rgb "#d62728" lw 2 pt 7, \
     '' index 0 using 0:3:xtic(1) title "rocksdb" lc rgb "#1f77b4" lw 2 pt 7, \
     '' index 0 using 0:4:xtic(1) title "leveldb" lc rgb "#2ca02c" lw 2 pt 7, \
     '' index 0 using 0:5:xtic(1) title "lmdb" lc rgb "#ff7f0e" lw 2 pt 7, \
     '' index 0 using 0:6:xtic(1) title "wiredtiger" lc rgb "#9467bd" lw 2 pt 7, \
     '' index 0 using 0:7:xtic(1) title "sqlite" lc rgb "#8c564b" lw 2 pt 7
unset multiplot
