module wsbridge

go 1.26.8

require (
	github.com/caarlos0/env/v11 v11.4.2
	github.com/pion/logging v0.2.4
)
