// A planted violation: tools/check-no-shell.sh must reject this tree (ctest
// no_shell_detects_a_shell). Never compiled.
#include <cstdlib>
#include <string>

int Run(const std::string& user_input) { return std::system(("echo " + user_input).c_str()); }
