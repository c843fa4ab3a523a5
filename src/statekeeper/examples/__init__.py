"""Example charts from the design brief; the docs, the demo and the tests share them."""
