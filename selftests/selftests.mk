# SPDX-License-Identifier: GPL-2.0
# selftests/ (placeholder).
.PHONY: run-selftests
