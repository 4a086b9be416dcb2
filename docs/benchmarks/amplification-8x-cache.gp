set terminal pngcairo size 1300,480 font "sans,10" noenhanced
set output "amplification-8x-cache.png"
set datafile missing "-"
set key outside right top vertical
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set xtics rotate by -40 nomirror
set multiplot layout 1,2 title "Amplification, 8x cache (log scale)"
set title "write amplification (bytes to the device / user bytes)"
plot "amplification-8x-cache.dat" index 0 using 2:xtic(1) title "mvdb" lc rgb "#d62728", \
     '' index 0 using 3:xtic(1) title "rocksdb" lc rgb "#1f77b4", \
     '' index 0 using 4:xtic(1) title "leveldb" lc rgb "#2ca02c", \
     '' index 0 using 5:xtic(1) title "lmdb" lc rgb "#ff7f0e", \
     '' index 0 using 6:xtic(1) title "wiredtiger" lc rgb "#9467bd", \
     '' index 0 using 7:xtic(1) title "sqlite" lc rgb "#8c564b"
set title "space amplification (bytes on disk / user bytes)"
plot "amplification-8x-cache.dat" index 1 using 2:xtic(1) title "mvdb" lc rgb "#d62728", \
     '' index 1 using 3:xtic(1) title "rocksdb" lc rgb "#1f77b4", \
     '' index 1 using 4:xtic(1) title "leveldb" lc rgb "#2ca02c", \
     '' index 1 using 5:xtic(1) title "lmdb" lc rgb "#ff7f0e", \
     '' index 1 using 6:xtic(1) title "wiredtiger" lc rgb "#9467bd", \
     '' index 1 using 7:xtic(1) title "sqlite" lc rgb "#8c564b"
unset multiplot
