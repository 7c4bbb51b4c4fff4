"""Measuring the answers: question files with their answers, BEIR benchmarks, and the phrase metrics they share."""
