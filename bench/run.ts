/** `npm run bench`: later issues add code redemptions, refreshes and introspections per second here. */
process.stdout.write('no benchmarks yet\n');
