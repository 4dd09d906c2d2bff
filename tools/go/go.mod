module gwake/tools/go

go 1.19
