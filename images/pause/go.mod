module emukube.local/pause

go 1.22
