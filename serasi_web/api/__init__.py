"""What every JSON API of SERASI Web shares (the push API plugin, the roster API, the federation's
receiving API): RFC 9457 problem details, reading a JSON body within limits, and mapping the API's
sections to a stay's fields."""
