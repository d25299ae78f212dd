package executor

import "runtime"

func runtimeGoexit() { runtime.Goexit() }
