# Waits and time limits are for this machine; inside the test host (TCG) a
# process start or a guest boot takes 10-50 times longer, so they stretch by
# TEST_TIME_SCALE (4 there, 1 elsewhere). scaled N prints N seconds so scaled.
TEST_TIME_SCALE=${TEST_TIME_SCALE:-$([ -n "${TESTHOST:-}" ] && echo 4 || echo 1)}
scaled() { echo $(($1 * TEST_TIME_SCALE)); }
