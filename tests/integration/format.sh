# The C sources follow the repository's .clang-format.
. "$TOP/tests/lib/common.sh"
cd "$TOP" || exit
if ! command -v clang-format >/dev/null; then
	skip "clang-format: not installed"
else
	files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 2>/dev/null)
	[ -n "$files" ] || files=$(find src tests -name '*.[ch]')
	check "sources are clang-formatted" clang-format --dry-run --Werror $files
fi
