# The guest's own keys from the kernel command line, one file each:
# "vmm.NAME=VALUE" is written to ARGDIR/NAME (VALUE, no newline), as is the
# older "vmmguest.shell=1" (to ARGDIR/shell). A key without "=" gets an empty
# file. The last of repeated keys wins.
#
# Words are split as the kernel's next_arg() splits them: at blanks outside
# double quotes; a value that starts with '"' loses that quote and a closing
# one (vmm.run="ping -c 3 198.51.100.1"). Then %XX (two hex digits) in a
# value is decoded, so that a value can also be written without blanks or
# quotes (vmm.run=ping%20-c%203%20198.51.100.1); a literal '%' is %25.
#
# Usage: awk -v ARGDIR=/run/vmm/arg -f cmdline.awk /proc/cmdline
# Prints "unknown NAME" for a vmm.NAME whose NAME is not lower case letters,
# digits and '_'.

function hexval(c) {
	return index("0123456789abcdef", tolower(c)) - 1
}

function unpercent(s,    out, i, h) {
	out = ""
	while ((i = index(s, "%")) > 0) {
		h = substr(s, i + 1, 2)
		if (h ~ /^[0-9A-Fa-f][0-9A-Fa-f]$/) {
			out = out substr(s, 1, i - 1) sprintf("%c", hexval(substr(h, 1, 1)) * 16 + hexval(substr(h, 2, 1)))
			s = substr(s, i + 3)
		} else {
			out = out substr(s, 1, i)
			s = substr(s, i + 1)
		}
	}
	return out s
}

function take(word,    eq, key, val, name, f) {
	eq = index(word, "=")
	if (eq > 0) {
		key = substr(word, 1, eq - 1)
		val = substr(word, eq + 1)
	} else {
		key = word
		val = ""
	}
	if (substr(val, 1, 1) == "\"") {
		val = substr(val, 2)
		if (substr(val, length(val), 1) == "\"")
			val = substr(val, 1, length(val) - 1)
	}
	if (key == "vmmguest.shell")
		name = "shell"
	else if (substr(key, 1, 4) == "vmm.")
		name = substr(key, 5)
	else
		return
	if (name !~ /^[a-z0-9_]+$/) {
		print "unknown " key
		return
	}
	f = ARGDIR "/" name
	printf "%s", unpercent(val) > f
	close(f)
}

{
	line = line $0 " "
}

END {
	n = length(line)
	word = ""
	inq = 0
	for (i = 1; i <= n; i++) {
		c = substr(line, i, 1)
		if ((c == " " || c == "\t") && !inq) {
			if (word != "")
				take(word)
			word = ""
			continue
		}
		if (c == "\"")
			inq = !inq
		word = word c
	}
	if (word != "")
		take(word)
}
