// Package render decides what each channel's message says about a CAP alert:
// the SMS text, fitted to GSM-7 or UCS-2 segments; the social status with its
// hashtags, fitted to the platform's length limit; and the webhook JSON
// payload of the public contract.
//
// It is pure: no I/O, no NATS, no adapters. It does not decide who receives
// an alert (the planner does), send anything (the channel adapters do) or
// validate CAP (package cap does); it only turns an accepted alert into text.
package render
