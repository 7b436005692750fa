# tests/interop/local.mk: lars against an implementation that is not
# lars's: scapy's STAMP (scapy.contrib.stamp, Debian's python3-scapy),
# under /usr/bin/python3; each .tap wrapper says SKIP, with the reason,
# where scapy is missing.  They run the built programs.

# larsd's STAMP reflector against scapy's sender.
TESTS += tests/interop/stamp_scapy.tap
EXTRA_DIST += tests/interop/stamp_scapy.tap tests/interop/stamp_scapy.py

# larsd-bench --stamp against a reflector built with scapy's STAMP packets
# (not with the wire module larsd-bench shares with larsd), the packets
# checked field by field on the way in.
TESTS += tests/interop/stamp_sender_scapy.tap
EXTRA_DIST += tests/interop/stamp_sender_scapy.tap \
	tests/interop/stamp_sender_scapy.py
