module emukube.local/echo

go 1.22
