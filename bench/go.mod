module github.com/warden-go/warden/bench

go 1.25.3

replace github.com/warden-go/warden => ../
