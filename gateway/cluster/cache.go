package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/store"
)

// Cache is the response cache the nodes share (a cache.Shared), for models whose cache says
// shared: answers under iom:cache:<key>, with their times to live, sealed with the cluster's
// secret when it has one.
type Cache struct{ c *Cluster }

// Cache returns the shared response cache.
func (c *Cluster) Cache() *Cache { return &Cache{c} }

func cacheKey(key []byte) (redisKey, id string) {
	id = hex.EncodeToString(key)
	return "iom:cache:" + id, id
}

// Get reads an answer and how long it has left, in one round trip.
func (sc *Cache) Get(key []byte) ([]byte, time.Duration, bool, error) {
	rk, id := cacheKey(key)
	ctx, cancel := context.WithTimeout(context.Background(), sc.c.opts.Timeout)
	defer cancel()
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := sc.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get, ttl = p.Get(ctx, rk), p.PTTL(ctx, rk)
		return nil
	})
	if errors.Is(err, redis.Nil) || errors.Is(get.Err(), redis.Nil) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, errors.New("redis: " + redisError(err))
	}
	v, err := sc.c.unsealed("cache", id, []byte(get.Val()))
	if err != nil {
		return nil, 0, false, err
	}
	return v, ttl.Val(), true, nil
}

// Put writes answers with their times to live, in one round trip.
func (sc *Cache) Put(entries []store.Entry) error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*sc.c.opts.Timeout)
	defer cancel()
	_, err := sc.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range entries {
			rk, id := cacheKey(e.Key)
			p.Set(ctx, rk, sc.c.sealed("cache", id, e.Value), e.TTL)
		}
		return nil
	})
	if err != nil {
		return errors.New("redis: " + redisError(err))
	}
	return nil
}
