#include "cli/app.h"

int main(int argc, char** argv) { return berth::cli::Main(argc, argv); }
