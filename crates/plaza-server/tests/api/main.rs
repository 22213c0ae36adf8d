//! Full-stack tests: a real Plaza server on port 0 per test, driven over HTTP.
//! One test binary on purpose: linking is the slow part of a test build.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod admin;
mod audit;
mod auth;
mod authz;
mod backup;
mod cli;
mod cluster;
mod compat;
mod config;
mod docs;
mod durability;
mod errors;
mod files;
mod fuzz;
mod helpers;
mod limits;
mod listing;
mod mail;
mod media;
mod meetings;
mod messages;
mod metrics;
mod oauth;
mod openapi;
mod postgres;
mod realtime;
mod realtime_rust;
mod roles;
mod sdk;
mod security;
mod space_abuse;
mod spaces;
mod tokens;
mod users;
mod web;
